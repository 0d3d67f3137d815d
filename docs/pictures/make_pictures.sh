#!/usr/bin/env bash
# Renders tabs of the demo workbook, charts included, to PNGs here: proof that what sheetcrm
# writes into an .xlsx (tables and native charts) is real to a spreadsheet app.
# Needs LibreOffice (soffice) and poppler (pdftoppm).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

sheetcrm demo --workbook "$work/demo.xlsx" --rows 200 --seed 7 --force >/dev/null

for tab in Pipeline Forecast Dashboard Opportunities; do
    name="$(echo "$tab" | tr '[:upper:]' '[:lower:]')"
    # LibreOffice prints no hidden tab, so each PDF holds just one.
    python - "$work/demo.xlsx" "$work/$name.xlsx" "$tab" <<'PY'
import sys
import openpyxl

wb = openpyxl.load_workbook(sys.argv[1])
for ws in wb.worksheets:
    if ws.title != sys.argv[3]:
        ws.sheet_state = "hidden"
shown = wb[sys.argv[3]]
if shown.title == "Opportunities":
    # The picture is about the computed columns: keep ID, Name, Stage and Amount beside them.
    headers = [c.value for c in shown[1]]
    keep = {"ID", "Name", "Stage", "Amount"} | set(headers[headers.index("Probability %"):])
    for i, h in enumerate(headers, 1):
        letter = openpyxl.utils.get_column_letter(i)
        shown.column_dimensions[letter].hidden = h not in keep
        shown.column_dimensions[letter].width = 14 if h != "Next Step" else 30
shown.page_setup.orientation = "landscape"
shown.page_setup.fitToWidth, shown.page_setup.fitToHeight = 1, 0
shown.sheet_properties.pageSetUpPr.fitToPage = True
wb.active = wb.sheetnames.index(sys.argv[3])
wb.save(sys.argv[2])
PY
    (cd "$work" && soffice --headless --convert-to pdf "$name.xlsx" >/dev/null 2>&1)
    pdftoppm -png -r 80 -f 1 -l 1 "$work/$name.pdf" "$work/$name"
    cp "$work/$name"-*1.png "$here/$name.png"
done
ls -l "$here"/{pipeline,forecast,dashboard,opportunities}.png
