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

render() {  # workbook, tab, picture name[, dpi: a wide tab rendered sharper, cropped to what it prints]
    # LibreOffice prints no hidden tab: every other tab is hidden, nothing else changes.
    # The file's own XML is edited, not re-saved by a library that would drop its charts.
    python - "$1" "$work/$3.xlsx" "$2" <<'PY'
import re
import sys
import zipfile
from xml.sax.saxutils import quoteattr

source, target, tab = sys.argv[1:]
with zipfile.ZipFile(source) as zin, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zout:
    for item in zin.infolist():
        data = zin.read(item.filename)
        if item.filename == "xl/workbook.xml":
            text = data.decode("utf-8")
            sheets = re.findall(r"<sheet\b[^>]*/>", text)
            names = [re.search(r'name="([^"]*)"', s).group(1) for s in sheets]
            shown = names.index(tab.replace("&", "&amp;"))
            for i, sheet in enumerate(sheets):
                plain = re.sub(r'\sstate="[^"]*"', "", sheet)
                text = text.replace(sheet, plain if i == shown else plain.replace("<sheet ", '<sheet state="hidden" ', 1))
            text = re.sub(r'\sactiveTab="\d+"', "", text)
            text = text.replace("<workbookView ", f'<workbookView activeTab="{shown}" ', 1)
            data = text.encode("utf-8")
        zout.writestr(item, data)
PY
    (cd "$work" && soffice "-env:UserInstallation=$profile" --headless --convert-to pdf "$3.xlsx" >/dev/null 2>&1)
    python - "$work/$3.pdf" "$here/$3.png" "${4:-}" <<'PY'
import sys
import pypdfium2
from PIL import ImageOps

page = pypdfium2.PdfDocument(sys.argv[1])[0]  # the first printed page
dpi = int(sys.argv[3]) if sys.argv[3] else 100
image = page.render(scale=dpi / 72).to_pil()
if sys.argv[3]:
    image = image.crop(ImageOps.invert(image.convert("L")).getbbox())
image.save(sys.argv[2])
PY
}

render "$work/en.xlsx" Pipeline pipeline
render "$work/en.xlsx" Forecast forecast
render "$work/en.xlsx" Dashboard dashboard
render "$work/en.xlsx" Opportunities opportunities
render "$work/en.xlsx" Campaigns campaigns
render "$work/en.xlsx" "Accounts Overview" overview 300
render "$work/es.xlsx" Embudo pipeline-es
render "$work/es.xlsx" "Previsión" forecast-es
render "$work/es.xlsx" Panel dashboard-es
render "$work/es.xlsx" Oportunidades opportunities-es
render "$work/es.xlsx" "Resumen de cuentas" overview-es 300
ls -l "$here"/*.png
