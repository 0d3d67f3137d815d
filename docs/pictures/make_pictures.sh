#!/usr/bin/env bash
# Renders tabs of the demo workbook, charts included, to PNGs here, in English and in Spanish:
# the workbook exactly as sheetcrm leaves it (its number formats, widths and page setup); the
# script only picks which tab LibreOffice prints. Needs LibreOffice (soffice), and pypdfium2 and
# pillow (pip) for the page as a picture: this LibreOffice exports no PNG from Calc, and
# poppler is not needed.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
profile="file://$work/profile"  # a private LibreOffice profile

printf 'locale = "es"\n' > "$work/es.toml"
sheetcrm demo --workbook "$work/en.xlsx" --rows 200 --seed 7 --force >/dev/null
sheetcrm demo --config "$work/es.toml" --workbook "$work/es.xlsx" --rows 200 --seed 7 --force >/dev/null

render() {  # workbook, tab, picture name
    # LibreOffice prints no hidden tab: every other tab is hidden, nothing else changes.
    python - "$1" "$work/$3.xlsx" "$2" <<'PY'
import sys
import openpyxl

wb = openpyxl.load_workbook(sys.argv[1])
for ws in wb.worksheets:
    ws.sheet_state = "visible" if ws.title == sys.argv[3] else "hidden"
wb.active = wb.sheetnames.index(sys.argv[3])
wb.save(sys.argv[2])
PY
    (cd "$work" && soffice "-env:UserInstallation=$profile" --headless --convert-to pdf "$3.xlsx" >/dev/null 2>&1)
    python - "$work/$3.pdf" "$here/$3.png" <<'PY'
import sys
import pypdfium2

page = pypdfium2.PdfDocument(sys.argv[1])[0]  # the first printed page
page.render(scale=100 / 72).to_pil().save(sys.argv[2])
PY
}

render "$work/en.xlsx" Pipeline pipeline
render "$work/en.xlsx" Forecast forecast
render "$work/en.xlsx" Dashboard dashboard
render "$work/en.xlsx" Opportunities opportunities
render "$work/es.xlsx" Embudo pipeline-es
render "$work/es.xlsx" "Previsión" forecast-es
render "$work/es.xlsx" Panel dashboard-es
render "$work/es.xlsx" Opportunities opportunities-es
ls -l "$here"/*.png
