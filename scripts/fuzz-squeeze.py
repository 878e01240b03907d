#!/usr/bin/env python3
"""Squeezes an image into the fuzz_xfs input format (tests/fuzz/fuzz.h): its size in MiB,
then one record per run of non-zero 512-byte sectors (sector offset, byte length, bytes).

    scripts/fuzz-squeeze.py IMAGE OUTPUT
"""
import struct
import sys

SECTOR = 512
MAX_RECORD = 127 * SECTOR  # a record's length is 16 bits


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__.strip())
    image, output = sys.argv[1], sys.argv[2]
    zero = bytes(SECTOR)
    records = []
    with open(image, 'rb') as f:
        f.seek(0, 2)
        size = f.tell()
        if size % (1 << 20) or not 16 << 20 <= size < 1 << 30:
            sys.exit(f'fuzz-squeeze: {image}: size {size} is not 16 MiB to 1 GiB in MiB')
        f.seek(0)
        run_start, run = None, bytearray()
        sector = 0
        while True:
            data = f.read(SECTOR)
            if not data:
                break
            if data != zero and len(run) < MAX_RECORD:
                if run_start is None:
                    run_start = sector
                run += data
            else:
                if run_start is not None:
                    records.append((run_start, bytes(run)))
                    run_start, run = None, bytearray()
                if data != zero:
                    run_start, run = sector, bytearray(data)
            sector += 1
        if run_start is not None:
            records.append((run_start, bytes(run)))
    with open(output, 'wb') as out:
        out.write(struct.pack('<I', size >> 20))
        for start, data in records:
            out.write(struct.pack('<IH', start, len(data)))
            out.write(data)


if __name__ == '__main__':
    main()
