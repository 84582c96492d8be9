"""Chain keys. Prefix 0x00 belongs to the chain itself; a table byte is never reused.

0x00 0x01 → chain [chain_id, kind]
0x00 0x02 → tip   [height, timestamp_ms] of the last applied block (0 and genesis time
            after genesis), so the state root commits to the height it is the root of.
"""

from __future__ import annotations

PREFIX = b"\x00"
CHAIN = PREFIX + b"\x01"
TIP = PREFIX + b"\x02"
