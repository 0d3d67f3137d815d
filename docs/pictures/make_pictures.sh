#!/usr/bin/env bash
# Renders the demo workbook's Pipeline and Forecast tabs, charts included, to PNGs here:
# proof that the charts sheetcrm writes into an .xlsx are real ones a spreadsheet app draws.
# Needs LibreOffice (soffice) and poppler (pdftoppm).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

sheetcrm demo --workbook "$work/demo.xlsx" --rows 200 --seed 7 --force >/dev/null

# The PDF holds only the two tabs: every other tab is hidden, and LibreOffice prints no hidden tab.
python - "$work/demo.xlsx" "$work/pictures.xlsx" <<'EOF'
import sys
import openpyxl

wb = openpyxl.load_workbook(sys.argv[1])
for ws in wb.worksheets:
    if ws.title not in ("Pipeline", "Forecast"):
        ws.sheet_state = "hidden"
wb.active = wb.sheetnames.index("Pipeline")
wb.save(sys.argv[2])
EOF

(cd "$work" && soffice --headless --convert-to pdf pictures.xlsx >/dev/null)
rm -f "$here"/pipeline.png "$here"/forecast*.png
pdftoppm -png -r 60 "$work/pictures.pdf" "$work/page"
# Pipeline (one page: a row per stage) comes first, then Forecast's page or pages.
pages=("$work"/page-*.png)
cp "${pages[0]}" "$here/pipeline.png"
if [ "${#pages[@]}" -eq 2 ]; then
    cp "${pages[1]}" "$here/forecast.png"
else
    for i in $(seq 1 $((${#pages[@]} - 1))); do cp "${pages[$i]}" "$here/forecast-$i.png"; done
fi
ls -l "$here"/pipeline.png "$here"/forecast*.png
