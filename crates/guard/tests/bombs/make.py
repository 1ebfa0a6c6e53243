#!/usr/bin/env python3
"""Makes the zip and decompression bombs the guard's memory test scans
(crates/guard/tests/memory.rs). Standard library only; deterministic.

    python3 crates/guard/tests/bombs/make.py crates/guard/tests/bombs

Each file is small on disk (and far smaller in git, which compresses the
repeated deflate blocks again) and huge once inflated. The guard must answer
each with "cannot inspect" (or a finding) within its memory budget, never
clear, and never by holding what it inflates.
"""
import io
import os
import sys
import zipfile
import zlib

MIB = 1 << 20
FIXED = (1980, 1, 1, 0, 0, 0)


def deflated(name, chunks, force_zip64=False):
    """A ZIP with one deflated member streamed from `chunks`."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        info = zipfile.ZipInfo(name, FIXED)
        info.compress_type = zipfile.ZIP_DEFLATED
        with z.open(info, "w", force_zip64=force_zip64) as f:
            for c in chunks:
                f.write(c)
    return out.getvalue()


def stored(members):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as z:
        for name, data in members:
            z.writestr(zipfile.ZipInfo(name, FIXED), data)
    return out.getvalue()


def repeat(block, total):
    n = 0
    while n < total:
        yield block
        n += len(block)


def overlapping(kernel_name, member_data, copies):
    """One deflated member, listed `copies` times in the central directory,
    every entry pointing at the same local header: each inflates in full."""
    single = deflated(kernel_name, [member_data])
    z = zipfile.ZipFile(io.BytesIO(single))
    info = z.infolist()[0]
    # Split the one-member archive at its central directory.
    cd_at = single.rindex(b"PK\x01\x02")
    eocd_at = single.rindex(b"PK\x05\x06")
    head, cd = single[:cd_at], single[cd_at:eocd_at]
    entries = b""
    for i in range(copies):
        name = f"copy{i:04}.csv".encode()
        # Same fixed-size fields, a new name (the local header keeps its own).
        fixed = bytearray(cd[:46])
        fixed[28:30] = len(name).to_bytes(2, "little")
        fixed[30:32] = (0).to_bytes(2, "little")  # no extra field
        entries += bytes(fixed) + name
    eocd = bytearray(single[eocd_at:eocd_at + 22])
    eocd[8:10] = copies.to_bytes(2, "little")
    eocd[10:12] = copies.to_bytes(2, "little")
    eocd[12:16] = len(entries).to_bytes(4, "little")
    eocd[16:20] = len(head).to_bytes(4, "little")
    return head + entries + bytes(eocd)


def main(out_dir):
    os.makedirs(out_dir, exist_ok=True)
    files = {}
    # The reproduction: a 10 MB ZIP of one CSV of 10 GiB.
    files["zeros-10g.zip"] = deflated("export.csv", repeat(b"0" * (64 * MIB), 10 << 30), force_zip64=True)
    # A member that sniffs as PDF (read whole by its reader), then zeros.
    files["pdf-head.zip"] = deflated("report.pdf", [b"%PDF-1.7\n"] + list(repeat(b"\0" * (64 * MIB), 1 << 30)))
    # A member of text with no line break and no delimiter at all.
    files["one-line.zip"] = deflated("notes.txt", repeat(b"a" * (64 * MIB), 1 << 30))
    # Nested: a ZIP of 16 ZIPs of 16 ZIPs of one 256 MiB CSV each (42.zip's shape).
    leaf = deflated("sheet.csv", repeat(b"1,2,3\n" * (MIB // 6 + 1), 256 * MIB))
    mid = stored([(f"part{i}.zip", leaf) for i in range(16)])
    mid_z = deflated("mid.zip", [mid])
    files["nested.zip"] = stored([(f"box{i}.zip", mid_z) for i in range(16)])
    # Overlapping entries: 500 names for one 512 MiB member.
    files["overlap.zip"] = overlapping("k.csv", b"0" * (512 * MIB), 500)
    # A workbook whose one sheet cell holds 1 GiB of text: an XML reader
    # that buffers a whole text node holds it all.
    sheet_head = (b'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/'
                  b'spreadsheetml/2006/main"><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>')
    sheet_tail = b"</t></is></c></row></sheetData></worksheet>"
    files["cell.xlsx"] = workbook(sheet_head, repeat(b"x" * (64 * MIB), 1 << 30), sheet_tail, None)
    # A workbook whose shared strings table lists 50 million strings.
    sst = [b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">']
    sst += repeat(b"<si><t>constable</t></si>" * 100_000, 50_000_000 * 25)
    sst.append(b"</sst>")
    files["strings.xlsx"] = workbook(sheet_head + b"x" , [], sheet_tail, sst)
    for name, data in files.items():
        with open(os.path.join(out_dir, name), "wb") as f:
            f.write(data)
        print(f"{name}: {len(data)} bytes")


def workbook(sheet_head, sheet_body, sheet_tail, shared):
    out = io.BytesIO()
    ct = (b'<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
          b'<Default Extension="xml" ContentType="application/xml"/></Types>')
    wb = (b'<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
          b'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
          b'<sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>')
    rels = (b'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            b'<Relationship Id="rId1" Type="worksheet" Target="worksheets/sheet1.xml"/></Relationships>')
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        z.writestr(zipfile.ZipInfo("[Content_Types].xml", FIXED), ct)
        z.writestr(zipfile.ZipInfo("xl/workbook.xml", FIXED), wb)
        z.writestr(zipfile.ZipInfo("xl/_rels/workbook.xml.rels", FIXED), rels)
        for name, parts in [("xl/worksheets/sheet1.xml", [sheet_head, *sheet_body, sheet_tail]),
                            ("xl/sharedStrings.xml", shared)]:
            if parts is None:
                continue
            info = zipfile.ZipInfo(name, FIXED)
            info.compress_type = zipfile.ZIP_DEFLATED
            with z.open(info, "w", force_zip64=True) as f:
                for p in parts:
                    f.write(p)
    return out.getvalue()


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__)))
