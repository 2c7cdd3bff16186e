# Prints src/engine/image/font.ts's GLYPHS table: printable ASCII (32..126) of X11's courB08
# (Adobe Courier Bold 8 pt, the bitmap font Pillow embeds as its default; the X11 font licence
# allows copying it), one string per glyph, each row two hex digits (bit 7 = the leftmost pixel).
# Run: /usr/bin/python3 scripts/refs/bitmapFont.py
from PIL import Image, ImageDraw, ImageFont

font = ImageFont.load_default()
WIDTH, HEIGHT = 6, 11
rows = []
for code in range(32, 127):
    img = Image.new('1', (WIDTH, HEIGHT), 0)
    ImageDraw.Draw(img).text((0, 0), chr(code), fill=1, font=font)
    hexrows = ''
    for y in range(HEIGHT):
        bits = 0
        for x in range(WIDTH):
            if img.getpixel((x, y)):
                bits |= 0x80 >> x
        hexrows += f'{bits:02x}'
    rows.append(hexrows)
print(f'// {WIDTH}x{HEIGHT} cells')
for i in range(0, len(rows), 8):
    print('  ' + ' '.join(f"'{r}'," for r in rows[i:i + 8]))
