//! Strict deterministic CBOR, the CONSENSUS profile of `metanode.codec.decoder`: the same rules,
//! checked in the same order, with the same rule names and offsets, in one pass that also
//! builds the value (borrowing strings from the input).

pub const INPUT_BYTES_MAX: usize = 16 * 1024 * 1024;
pub const ITEM_BYTES_MAX: u64 = 8 * 1024 * 1024;
pub const ITEM_COUNT_MAX: u64 = 1 << 20;
pub const NESTING_DEPTH_MAX: usize = 32;

#[derive(Debug, PartialEq, Eq)]
pub enum Value<'a> {
    Uint(u64),
    /// -1 - n.
    Negative(u64),
    Bytes(&'a [u8]),
    Text(&'a str),
    Array(Vec<Value<'a>>),
    Map(Vec<(Value<'a>, Value<'a>)>),
    Tag(u64, Box<Value<'a>>),
    Bool(bool),
    Null,
}

/// A broken rule: its stable name (`DecodeError.rule`) and where it starts, when known.
#[derive(Debug, PartialEq, Eq, Clone)]
pub struct Error {
    pub rule: &'static str,
    pub offset: Option<usize>,
}

fn error<T>(rule: &'static str, offset: usize) -> Result<T, Error> {
    Err(Error {
        rule,
        offset: Some(offset),
    })
}

struct Parser<'a, 't> {
    data: &'a [u8],
    registered_tags: &'t [u64],
}

impl<'a> Parser<'a, '_> {
    /// (major type, additional info, argument, offset after the head).
    fn head(&self, offset: usize) -> Result<(u8, u8, u64, usize), Error> {
        let Some(&initial) = self.data.get(offset) else {
            return error("truncated", offset);
        };
        let (major, info) = (initial >> 5, initial & 0x1f);
        if info < 24 {
            return Ok((major, info, u64::from(info), offset + 1));
        }
        if info > 27 {
            return match (info, major) {
                (31, 7) => error("unexpected_break", offset),
                (31, 0 | 1 | 6) | (28..=30, _) => error("reserved_additional_info", offset),
                _ => error("indefinite_length", offset),
            };
        }
        let width = 1usize << (info - 24);
        let after = offset + 1 + width;
        if after > self.data.len() {
            return error("truncated", offset);
        }
        let argument = self.data[offset + 1..after]
            .iter()
            .fold(0u64, |value, &byte| (value << 8) | u64::from(byte));
        let shortest_minimum = [24u64, 0x100, 0x1_0000, 0x1_0000_0000][usize::from(info - 24)];
        if major != 7 && argument < shortest_minimum {
            let rule = match major {
                0 | 1 => "non_shortest_integer",
                6 => "non_shortest_tag",
                _ => "non_shortest_length",
            };
            return error(rule, offset);
        }
        Ok((major, info, argument, after))
    }

    fn item(&self, offset: usize, depth: usize) -> Result<(Value<'a>, usize), Error> {
        let (major, info, argument, after) = self.head(offset)?;
        match major {
            0 => return Ok((Value::Uint(argument), after)),
            1 => return Ok((Value::Negative(argument), after)),
            2 | 3 => return self.string(major, argument, offset, after),
            _ => {}
        }
        // As in the reference, a simple value at the limit counts as too deep as well.
        if depth >= NESTING_DEPTH_MAX {
            return error("nesting_too_deep", offset);
        }
        match major {
            4 => {
                self.count(argument, 1, offset, after)?;
                let mut items = Vec::with_capacity(argument as usize);
                let mut after = after;
                for _ in 0..argument {
                    let (item, next) = self.item(after, depth + 1)?;
                    items.push(item);
                    after = next;
                }
                Ok((Value::Array(items), after))
            }
            5 => self.map(argument, offset, after, depth),
            7 => self.simple(info, offset, after),
            _ => {
                if !self.registered_tags.contains(&argument) {
                    return error("tag_not_registered", offset);
                }
                let (item, after) = self.item(after, depth + 1)?;
                Ok((Value::Tag(argument, Box::new(item)), after))
            }
        }
    }

    fn string(
        &self,
        major: u8,
        length: u64,
        offset: usize,
        after: usize,
    ) -> Result<(Value<'a>, usize), Error> {
        if length > ITEM_BYTES_MAX {
            return error("item_too_large", offset);
        }
        let stop = after + length as usize;
        if stop > self.data.len() {
            return error("truncated", offset);
        }
        let bytes = &self.data[after..stop];
        if major == 2 {
            return Ok((Value::Bytes(bytes), stop));
        }
        match std::str::from_utf8(bytes) {
            Ok(text) => Ok((Value::Text(text), stop)),
            Err(invalid) => error("invalid_utf8", after + invalid.valid_up_to()),
        }
    }

    fn count(
        &self,
        count: u64,
        min_bytes_each: u64,
        offset: usize,
        after: usize,
    ) -> Result<(), Error> {
        if count > ITEM_COUNT_MAX {
            return error("item_too_large", offset);
        }
        if count * min_bytes_each > (self.data.len() - after) as u64 {
            return error("truncated", offset);
        }
        Ok(())
    }

    fn map(
        &self,
        pairs: u64,
        offset: usize,
        after: usize,
        depth: usize,
    ) -> Result<(Value<'a>, usize), Error> {
        self.count(pairs, 2, offset, after)?;
        let mut entries = Vec::with_capacity(pairs as usize);
        let mut after = after;
        let mut previous: &[u8] = b"";
        for index in 0..pairs {
            let key_start = after;
            let (key, next) = self.item(after, depth + 1)?;
            let key_bytes = &self.data[key_start..next];
            if index > 0 && key_bytes <= previous {
                let rule = if key_bytes == previous {
                    "duplicate_map_key"
                } else {
                    "unsorted_map_keys"
                };
                return error(rule, key_start);
            }
            previous = key_bytes;
            let (value, next) = self.item(next, depth + 1)?;
            entries.push((key, value));
            after = next;
        }
        Ok((Value::Map(entries), after))
    }

    fn simple(&self, info: u8, offset: usize, after: usize) -> Result<(Value<'a>, usize), Error> {
        if info >= 25 {
            return error("float_not_allowed", offset);
        }
        match self.data[offset] {
            0xf4 => Ok((Value::Bool(false), after)),
            0xf5 => Ok((Value::Bool(true), after)),
            0xf6 => Ok((Value::Null, after)),
            _ => error("simple_value_not_allowed", offset),
        }
    }
}

/// The one value `data` encodes, which must be deterministic CBOR of the CONSENSUS profile
/// with tags only from `registered_tags` (`metanode.codec.tags`).
pub fn decode<'a>(data: &'a [u8], registered_tags: &[u64]) -> Result<Value<'a>, Error> {
    if data.is_empty() {
        return error("empty_input", 0);
    }
    if data.len() > INPUT_BYTES_MAX {
        return Err(Error {
            rule: "input_too_large",
            offset: None,
        });
    }
    let (value, end) = Parser {
        data,
        registered_tags,
    }
    .item(0, 0)?;
    if end != data.len() {
        return error("trailing_bytes", end);
    }
    Ok(value)
}

/// RFC 8949 §4.2.1's shortest head for major type `major` (0-7) with argument `value`,
/// appended to `out`: what the Python encoder writes for a uint, a length or a count.
pub fn encode_head(out: &mut Vec<u8>, major: u8, value: u64) {
    let major = major << 5;
    if value < 24 {
        out.push(major | value as u8);
    } else if let Ok(byte) = u8::try_from(value) {
        out.extend_from_slice(&[major | 24, byte]);
    } else if let Ok(short) = u16::try_from(value) {
        out.push(major | 25);
        out.extend_from_slice(&short.to_be_bytes());
    } else if let Ok(word) = u32::try_from(value) {
        out.push(major | 26);
        out.extend_from_slice(&word.to_be_bytes());
    } else {
        out.push(major | 27);
        out.extend_from_slice(&value.to_be_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(data: &[u8]) -> &'static str {
        decode(data, &[]).expect_err("refused").rule
    }

    #[test]
    fn values_and_rules() {
        assert_eq!(
            decode(&[0x83, 0x01, 0x20, 0x41, 0xff], &[]),
            Ok(Value::Array(vec![
                Value::Uint(1),
                Value::Negative(0),
                Value::Bytes(&[0xff])
            ]))
        );
        assert_eq!(rule(&[0x18, 0x05]), "non_shortest_integer");
        assert_eq!(rule(&[0x59, 0x00, 0x01, 0x00]), "non_shortest_length");
        assert_eq!(rule(&[0x9f]), "indefinite_length");
        assert_eq!(rule(&[0xff]), "unexpected_break");
        assert_eq!(rule(&[0x1c]), "reserved_additional_info");
        assert_eq!(rule(&[0x01, 0x02]), "trailing_bytes");
        assert_eq!(rule(&[0xa2, 0x02, 0x00, 0x01, 0x00]), "unsorted_map_keys");
        assert_eq!(rule(&[0xa2, 0x01, 0x00, 0x01, 0x00]), "duplicate_map_key");
        assert_eq!(rule(&[0x62, 0xc3, 0x28]), "invalid_utf8");
        assert_eq!(rule(&[0xf9, 0x00, 0x00]), "float_not_allowed");
        assert_eq!(rule(&[0xf7]), "simple_value_not_allowed");
        assert_eq!(rule(&[0xc2, 0x41, 0x01]), "tag_not_registered");
        assert_eq!(rule(&[0x85, 0x01]), "truncated");
        assert_eq!(rule(&[0x81; 40]), "nesting_too_deep");
        assert_eq!(rule(&[]), "empty_input");
    }
}
