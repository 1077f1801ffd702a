^XA
^FX Box label 2.0 x 1.0 in for a {dpi} dpi Zebra printer.
^FX The values in braces are filled in per label, in printer dots, from box.toml:
^FX move things there. Printer settings (darkness, speed, media) may be added here.
^FX A box-300.zpl (or -203, -600) beside this file is used at that resolution instead.
^CI28
^PW{width}
^LL{height}
^LH0,0
^FX Code 128 in mode N with its code sets spelled out, so the printed symbol is
^FX module for module the one whose width was checked against the label.
^FO{code128_x},{code128_y}^BY{code128_module}^BCN,{code128_height},N,N,N,N^FD{code128_data}^FS
^FX Data Matrix ECC 200, square, module {datamatrix_module} dots.
^FO{datamatrix_x},{datamatrix_y}^BXN,{datamatrix_module},200^FD{datamatrix_data}^FS
^FX The text lines of box.toml; fields such as location are also available
^FX (hex-escaped, for a field that starts with the FH command).
{text}
^PQ1
^XZ
