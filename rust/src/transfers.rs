//! A run of a block's transfers executed in one call: the guard ladder's rungs past the
//! signature (`metanode.state.auth.rules.guard_ladder` with the key rung of
//! `state/keys/rules.py`), the fee charge (`auth.rules.charge`) and bank's transfer rule
//! (`bank.rules.on_transfer`), transaction after transaction in block order, as
//! `metanode.state.machine._execute` runs them; the Python code stays the reference and
//! `state/transfers.py` hands a run over.
//!
//! The caller reads every account the run touches once, before it (`Holder`), and writes back
//! the records that changed, encoded as `state/bank/accounts.py` encodes them. A transfer moves
//! coins that exist and the fees stay out of every account until the block's end, so the
//! supply of no denomination changes here: there is no supply delta to return, only the
//! fees the run collected.

use crate::cbor::encode_head;

/// What one transaction came to. The ladder's outcomes keep it out of a block; the rule's
/// (`Ok` and the last three) put it in with its fee paid. The numbering is the binding's
/// (`state/transfers.py` maps it to result codes), stable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Outcome {
    Ok = 0,
    WrongChain = 1,
    Expired = 2,
    FeeTooLow = 3,
    BadSignature = 4,
    AccountMigrated = 5,
    HybridKeyRequired = 6,
    NonceTooLow = 7,
    NonceTooHigh = 8,
    InsufficientFeeBalance = 9,
    AmountMustNotBeZero = 10,
    RecipientIsModuleAccount = 11,
    InsufficientFunds = 12,
}

impl Outcome {
    /// Whether the transaction is in the block (it passed the ladder).
    pub fn included(self) -> bool {
        !matches!(
            self,
            Outcome::WrongChain
                | Outcome::Expired
                | Outcome::FeeTooLow
                | Outcome::BadSignature
                | Outcome::AccountMigrated
                | Outcome::HybridKeyRequired
                | Outcome::NonceTooLow
                | Outcome::NonceTooHigh
                | Outcome::InsufficientFeeBalance
        )
    }
}

/// An account record: the nonce and the balances of GEN, NEX, FLX, AUR (`Denom - 1`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Account {
    pub nonce: u64,
    pub balances: [u64; 4],
}

const FLX: usize = 2;

impl Account {
    fn is_empty(&self) -> bool {
        self.nonce == 0 && self.balances == [0; 4]
    }

    /// The stored record: the deterministic CBOR of `[nonce, gen, nex, flx, aur]`, or None
    /// for an empty account (its key is deleted).
    pub fn encode(&self) -> Option<Vec<u8>> {
        (!self.is_empty()).then(|| self.record())
    }

    /// `[nonce, gen, nex, flx, aur]` in deterministic CBOR.
    fn record(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(1 + 5 * 9);
        out.push(0x85);
        for value in std::iter::once(self.nonce).chain(self.balances) {
            encode_head(&mut out, 0, value);
        }
        out
    }

    /// The record `encode` writes, read back strictly (what `values.decode_uints` accepts:
    /// the deterministic encoding of five uint64s and nothing else); None for anything else.
    pub fn decode(data: &[u8]) -> Option<Account> {
        let (&head, mut rest) = data.split_first()?;
        if head != 0x85 {
            return None;
        }
        let mut fields = [0u64; 5];
        for field in &mut fields {
            let (&head, after) = rest.split_first()?;
            let width = match head {
                0x00..=0x17 => 0,
                0x18 => 1,
                0x19 => 2,
                0x1a => 4,
                0x1b => 8,
                _ => return None,
            };
            let (bytes, after) = after.split_at_checked(width)?;
            *field = if width == 0 {
                u64::from(head)
            } else {
                bytes
                    .iter()
                    .fold(0, |value, byte| value << 8 | u64::from(*byte))
            };
            rest = after;
        }
        let [nonce, gen, nex, flx, aur] = fields;
        let account = Account {
            nonce,
            balances: [gen, nex, flx, aur],
        };
        // The shortest heads only, nothing after: exactly the bytes `record` writes.
        (rest.is_empty() && account.record() == data).then_some(account)
    }
}

/// An account the run touches, as it is before the run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Holder {
    pub account: Account,
    /// A module account: transfers to it are refused.
    pub module: bool,
    /// Migrated to a hybrid key: its Ed25519-only transactions are refused.
    pub migrated: bool,
}

/// One transaction carrying a transfer; `sender` and `to` index the run's holders.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transfer {
    pub chain_id: String,
    pub sender: usize,
    /// Signed with a hybrid key (the key rung passes it).
    pub hybrid: bool,
    /// Its signature verified (at admission, or by the caller for this run).
    pub signature_ok: bool,
    pub nonce: u64,
    pub fee: u64,
    pub expiry_height: u64,
    pub to: usize,
    pub amount: u64,
    /// 1..=4 (GEN, NEX, FLX, AUR).
    pub denom: u8,
    /// Its encoded length, for a proposer's byte limit.
    pub size: usize,
}

/// The block the run is in, and the chain's parameters the ladder reads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Block {
    pub chain_id: String,
    pub height: u64,
    pub fee_min: u64,
    /// keys' `hybrid_accounts_required`, read by the caller when a sender is new.
    pub hybrid_accounts_required: bool,
    /// A proposer's room left, `(transactions, bytes)`: the run stops before the first
    /// transaction that would not fit. None for a block being applied, whose run stops after
    /// the first transaction that fails the ladder (the block is invalid).
    pub room: Option<(usize, usize)>,
}

#[derive(Debug, PartialEq, Eq)]
pub struct Executed {
    /// One per transaction looked at, in order; fewer than the run's when it stopped.
    pub outcomes: Vec<Outcome>,
    /// The fees of the included transactions, FLX base units.
    pub fees: u128,
    /// The holders whose record changed, by index, with the record to store (None deletes).
    pub changed: Vec<(usize, Option<Vec<u8>>)>,
}

/// A broken invariant: a bug or a corrupt state, never the transactions' fault.
#[derive(Debug, PartialEq, Eq)]
pub struct Invariant(pub String);

fn ladder(block: &Block, tx: &Transfer, holder: &Holder) -> Outcome {
    if tx.chain_id != block.chain_id {
        return Outcome::WrongChain;
    }
    if tx.expiry_height < block.height {
        return Outcome::Expired;
    }
    if tx.fee < block.fee_min {
        return Outcome::FeeTooLow;
    }
    if !tx.signature_ok {
        return Outcome::BadSignature;
    }
    let account = &holder.account;
    if !tx.hybrid {
        if holder.migrated {
            return Outcome::AccountMigrated;
        }
        if account.nonce == 0 && block.hybrid_accounts_required {
            return Outcome::HybridKeyRequired;
        }
    }
    if tx.nonce < account.nonce {
        return Outcome::NonceTooLow;
    }
    if tx.nonce > account.nonce {
        return Outcome::NonceTooHigh;
    }
    if account.balances[FLX] < tx.fee {
        return Outcome::InsufficientFeeBalance;
    }
    Outcome::Ok
}

/// `on_transfer` after the charge: the rule's outcome, and the coins moved if it is `Ok`.
fn transfer(
    holders: &mut [Holder],
    changed: &mut [bool],
    tx: &Transfer,
    denom: usize,
) -> Result<Outcome, Invariant> {
    if tx.amount == 0 {
        return Ok(Outcome::AmountMustNotBeZero);
    }
    if holders[tx.to].module {
        return Ok(Outcome::RecipientIsModuleAccount);
    }
    let have = holders[tx.sender].account.balances[denom];
    if have < tx.amount {
        return Ok(Outcome::InsufficientFunds);
    }
    if tx.sender == tx.to {
        return Ok(Outcome::Ok);
    }
    holders[tx.sender].account.balances[denom] = have - tx.amount;
    let target = &mut holders[tx.to].account.balances[denom];
    *target = target.checked_add(tx.amount).ok_or_else(|| {
        Invariant(format!(
            "credit of {} to a balance of {} overflows uint64",
            tx.amount, target
        ))
    })?;
    changed[tx.sender] = true;
    changed[tx.to] = true;
    Ok(Outcome::Ok)
}

/// Execute `transfers` in order over `holders` (changed in place).
pub fn execute(
    block: &Block,
    holders: &mut [Holder],
    transfers: &[Transfer],
) -> Result<Executed, Invariant> {
    for tx in transfers {
        if tx.sender >= holders.len() || tx.to >= holders.len() || !(1..=4).contains(&tx.denom) {
            return Err(Invariant(format!(
                "a transfer out of the run's bounds: {tx:?}"
            )));
        }
    }
    let mut changed = vec![false; holders.len()];
    let mut outcomes = Vec::with_capacity(transfers.len());
    let mut fees: u128 = 0;
    let (mut included, mut bytes) = (0usize, 0usize);
    for tx in transfers {
        if let Some((txs_left, bytes_left)) = block.room {
            if included >= txs_left || bytes.saturating_add(tx.size) > bytes_left {
                break;
            }
        }
        let outcome = ladder(block, tx, &holders[tx.sender]);
        if !outcome.included() {
            outcomes.push(outcome);
            if block.room.is_none() {
                break;
            }
            continue;
        }
        let sender = &mut holders[tx.sender].account;
        if sender.nonce == u64::MAX {
            return Err(Invariant(format!("charging {} to {sender:?}", tx.fee)));
        }
        sender.nonce += 1;
        sender.balances[FLX] -= tx.fee;
        changed[tx.sender] = true;
        fees += u128::from(tx.fee);
        outcomes.push(transfer(
            holders,
            &mut changed,
            tx,
            usize::from(tx.denom - 1),
        )?);
        included += 1;
        bytes += tx.size;
    }
    let changed = changed
        .iter()
        .enumerate()
        .filter(|(_, changed)| **changed)
        .map(|(index, _)| (index, holders[index].account.encode()))
        .collect();
    Ok(Executed {
        outcomes,
        fees,
        changed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(room: Option<(usize, usize)>) -> Block {
        Block {
            chain_id: "test".into(),
            height: 5,
            fee_min: 10,
            hybrid_accounts_required: false,
            room,
        }
    }

    fn holder(nonce: u64, flx: u64) -> Holder {
        Holder {
            account: Account {
                nonce,
                balances: [0, 0, flx, 0],
            },
            ..Holder::default()
        }
    }

    fn tx(sender: usize, nonce: u64, to: usize, amount: u64) -> Transfer {
        Transfer {
            chain_id: "test".into(),
            sender,
            hybrid: false,
            signature_ok: true,
            nonce,
            fee: 10,
            expiry_height: 5,
            to,
            amount,
            denom: 3,
            size: 100,
        }
    }

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|byte| format!("{byte:02x}")).collect()
    }

    #[test]
    fn records_decode_strictly() {
        let account = Account {
            nonce: 7,
            balances: [0, 23, 24, u64::MAX],
        };
        let data = account.encode().expect("not empty");
        assert_eq!(Account::decode(&data), Some(account));
        let mut long_head = data.clone();
        long_head.splice(1..2, [0x18, 7]); // the nonce 7 in a two-byte head
        let mut trailing = data.clone();
        trailing.push(0);
        for bad in [
            &long_head[..],
            &trailing,
            &data[..data.len() - 1],
            &[0x84, 0, 0, 0, 1],
            &[0x85, 0x20, 0, 0, 1, 0], // a negative integer
            &[],
        ] {
            assert_eq!(Account::decode(bad), None, "{bad:02x?}");
        }
    }

    #[test]
    fn records_encode_as_the_python_encoder() {
        // cbor2.dumps([1, 23, 24, 65536, 2**64 - 1]) and cbor2.dumps([0, 0, 255, 256, 2**32]).
        let account = Account {
            nonce: 1,
            balances: [23, 24, 65_536, u64::MAX],
        };
        assert_eq!(
            hex(&account.encode().unwrap()),
            "85011718181a000100001bffffffffffffffff"
        );
        let other = Account {
            nonce: 0,
            balances: [0, 255, 256, 1 << 32],
        };
        assert_eq!(
            hex(&other.encode().unwrap()),
            "85000018ff1901001b0000000100000000"
        );
        assert_eq!(Account::default().encode(), None);
    }

    #[test]
    fn a_run_follows_the_ladder_then_the_rule_in_block_order() {
        let mut holders = [holder(0, 1_000), holder(3, 5), holder(0, 5)];
        let run = [
            tx(0, 0, 1, 500),
            tx(0, 0, 1, 1),   // the nonce is now 1
            tx(0, 2, 1, 1),   // one ahead
            tx(0, 1, 0, 400), // to itself: charged, nothing moves
            tx(0, 2, 1, 600), // more than is left: charged, refused
            tx(2, 0, 0, 1),   // the fee is more than the sender's FLX
            tx(0, 3, 1, 0),
        ];
        let executed = execute(&block(Some((100, 10_000))), &mut holders, &run).unwrap();
        use Outcome::*;
        assert_eq!(
            executed.outcomes,
            [
                Ok,
                NonceTooLow,
                NonceTooHigh,
                Ok,
                InsufficientFunds,
                InsufficientFeeBalance,
                AmountMustNotBeZero
            ]
        );
        assert_eq!(executed.fees, 40);
        assert_eq!(holders[0].account.nonce, 4);
        assert_eq!(holders[0].account.balances[FLX], 1_000 - 500 - 40);
        assert_eq!(holders[1].account.balances[FLX], 505);
        assert_eq!(
            executed
                .changed
                .iter()
                .map(|(index, _)| *index)
                .collect::<Vec<_>>(),
            [0, 1]
        );
    }

    #[test]
    fn an_applied_block_stops_at_its_first_invalid_transaction_and_a_proposal_at_its_room() {
        let run = [tx(0, 0, 1, 1), tx(0, 5, 1, 1), tx(0, 1, 1, 1)];
        let mut holders = [holder(0, 1_000), holder(0, 0)];
        let applied = execute(&block(None), &mut holders, &run).unwrap();
        assert_eq!(applied.outcomes, [Outcome::Ok, Outcome::NonceTooHigh]);
        let mut holders = [holder(0, 1_000), holder(0, 0)];
        let proposed = execute(&block(Some((1, 10_000))), &mut holders, &run).unwrap();
        assert_eq!(proposed.outcomes, [Outcome::Ok]);
        let mut holders = [holder(0, 1_000), holder(0, 0)];
        let by_bytes = execute(&block(Some((10, 250))), &mut holders, &run).unwrap();
        assert_eq!(
            by_bytes.outcomes,
            [Outcome::Ok, Outcome::NonceTooHigh, Outcome::Ok]
        );
        let mut holders = [holder(0, 1_000), holder(0, 0)];
        let full = execute(&block(Some((10, 150))), &mut holders, &run).unwrap();
        assert_eq!(full.outcomes, [Outcome::Ok]);
    }

    #[test]
    fn broken_invariants_are_errors_not_panics() {
        let mut holders = [holder(u64::MAX, 1_000), holder(0, 0)];
        let run = [tx(0, u64::MAX, 1, 1)];
        assert!(execute(&block(None), &mut holders, &run).is_err());
        let mut full = [holder(0, 1_000), holder(0, 0)];
        full[1].account.balances[FLX] = u64::MAX;
        assert!(execute(&block(None), &mut full, &[tx(0, 0, 1, 1)]).is_err());
        assert!(execute(&block(None), &mut full, &[tx(0, 0, 7, 1)]).is_err());
    }
}
