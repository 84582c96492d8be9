"""governance (D-PAN): proposals with deposits, stake-weighted votes and a tally in the manner
of Cosmos x/gov; a passed proposal changes a parameter, spends from the treasury, turns an
authority on or off, or records a software upgrade signal (docs/governance.md)."""
