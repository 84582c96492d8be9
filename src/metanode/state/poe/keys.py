"""poe keys. Prefix 0x0a is shared by poe and billing (state/codes.py allots it); poe takes
table bytes from 0x00 up, billing from 0x80 up. A table byte, once used, is never reused.

0x0a 0x00   → parameters (params.py)
"""

from __future__ import annotations

PREFIX = b"\x0a"
PARAMS = PREFIX + b"\x00"
