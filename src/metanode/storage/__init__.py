"""storage: relay storage's pure logic (no I/O). A blob is content-addressed by a Merkle root
over the BLAKE3 hashes of its chunks (`coding`), erasure-coded k-of-n into shares whose chunks
are each provable against a second root (`coding`), placed on nodes by rendezvous hashing
(`placement`), and checked by challenges drawn from a block hash (`challenges`). The chunk
store and the transport are the node's (`metanode.node.blobs`); the chain's records are
`metanode.state.storage`'s."""
