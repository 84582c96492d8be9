"""shadow: the shadow registry, which bridges Web2 services to apps (docs/shadow.md). A
service registers a shadow identity bound to its domain and keys; a user grants it a scoped,
expiring, revocable right to act as them; what it does for users is recorded off chain in
shadow receipts that commit to requests and responses by hash (`receipts.py`)."""
