import assert from "node:assert/strict";
import { parse } from "csv-parse/sync";
import { plainCsvRows } from "../provider/seeds/plain-csv.js";
import { MAX_CSV_RECORD_CHARS } from "../provider/seeds/normalize.js";
import { seededRandom } from "../emulator/faults.js";

// The plain CSV splitter must give exactly what csv-parse gives with entra-csv.ts's options, or
// decline (and then csv-parse reads the file, with its errors). Checked on tricky and on thousands
// of random files (a fixed seed: the same files every run).

/** csv-parse's records, as entra-csv.ts asks for them, or undefined where it refuses the text. */
function csvParse(text: string, maxRecordChars = MAX_CSV_RECORD_CHARS): string[][] | undefined {
  try {
    return parse(text, { relax_column_count: false, skip_empty_lines: true, trim: true, max_record_size: maxRecordChars });
  } catch {
    return undefined;
  }
}

/** The splitter agrees with csv-parse, or declines; true when it took the text. */
function agrees(text: string, maxRecordChars = MAX_CSV_RECORD_CHARS): boolean {
  const rows = plainCsvRows(text, maxRecordChars);
  if (rows === undefined) return false;
  const expected = csvParse(text, maxRecordChars);
  assert.ok(expected, `the splitter took a text csv-parse refuses: ${JSON.stringify(text)}`);
  assert.deepEqual([...rows], expected, JSON.stringify(text));
  return true;
}

describe("plain seed CSV splitter", () => {
  it("splits plain files exactly as csv-parse does: LF, CRLF, empty lines and fields, no last line end", () => {
    for (const text of [
      "serial number,secret key\nS1,JBSWY3DPEHPK3PXP\nS2,GEZDGNBV\n",
      "upn,serial number,secret key,time interval,manufacturer,model\r\nalice@contoso.com,S1,JBSW Y3DP,30,Token2,OTP c200\r\n,S2,GEZDGNBV,,,\r\n",
      "\n\nserial number,secret key\n\nS1,A=B\n\n",
      "serial number,secret key\nS1,JBSWY3DPEHPK3PXP",
      "a\nb\nc\n",
      "",
    ]) {
      assert.ok(agrees(text), `the splitter takes ${JSON.stringify(text)}`);
    }
  });

  it("declines quotes, spaces around fields, tabs, other characters, mixed line ends and unequal rows", () => {
    for (const text of [
      'serial number,secret key\n"S1",A\n',
      "serial number,secret key\nS1 ,A\n",
      "serial number,secret key\n S1,A\n",
      "serial number,secret key\nS1,A \n",
      "serial number,secret key\nS1,A \r\n",
      "serial number,secret key\nS1,\tA\n",
      "serial number,secret key\nS1,Ä\n",
      "serial number,secret key\r\nS1,A\nS2,B\r\n",
      "serial number,secret key\rS1,A\r",
      "serial number,secret key\nS1,A,extra\n",
      "serial number,secret key\nS1\n",
      "serial number,secret key\n   \n",
    ]) {
      assert.equal(plainCsvRows(text, MAX_CSV_RECORD_CHARS), undefined, JSON.stringify(text));
    }
    assert.equal(plainCsvRows(`a,b\n${"x".repeat(20)},y\n`, 16), undefined, "a line beyond the record cap");
  });

  it("agrees with csv-parse on thousands of random files", () => {
    const random = seededRandom(0x25a);
    const pieces = ["a", "B", "7", "=", "-", "@", ".", " ", "  ", ",", '"', "\t", "\r", "\n", "\r\n", "é", "\u00a0", "#"];
    let taken = 0;
    const runs = 4000;
    for (let i = 0; i < runs; i++) {
      let text = "";
      for (let n = Math.floor(random() * 40); n > 0; n--) {
        // Mostly letters, commas and line ends, so that many files stay plain.
        text += random() < 0.7 ? (pieces[Math.floor(random() * 3)] ?? "") + (random() < 0.2 ? "," : random() < 0.1 ? "\n" : "") : (pieces[Math.floor(random() * pieces.length)] ?? "");
      }
      if (agrees(text, 1 + Math.floor(random() * 30))) taken++;
    }
    assert.ok(taken > runs / 10, `only ${taken} of ${runs} random files were taken`);
  });
});
