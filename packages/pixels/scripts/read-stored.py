"""Prints the stored values of one frame of an uncompressed DICOM file as
little-endian int32 on stdout, pixels interleaved: the independent reader
the @lpacs/pixels tests compare against. Usage: read-stored.py FILE FRAME

Run with Debian's /usr/bin/python3 (python3-pydicom, python3-numpy)."""
import sys
import numpy as np
import pydicom

ds = pydicom.dcmread(sys.argv[1])
pixels = ds.pixel_array
if int(getattr(ds, 'NumberOfFrames', 1) or 1) > 1:
    pixels = pixels[int(sys.argv[2])]
sys.stdout.buffer.write(pixels.astype('<i4').tobytes())
