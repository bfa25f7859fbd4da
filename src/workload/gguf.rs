//! A reader of GGUF file headers: magic, version, metadata key/value pairs (every value type,
//! arrays included), the tensor table and the data alignment.
//!
//! Every read is checked against the file's length before anything is allocated, so a
//! corrupt or truncated file gives an error naming the file, the byte offset and the field
//! being read, never a panic or a huge allocation. Only the header is read; tensor data is
//! checked to lie inside the file but not loaded.
//!
//! Layout (little-endian; GGUF versions 2 and 3):
//! `"GGUF"` u32 version, u64 tensor count, u64 metadata count, metadata entries
//! (string key, u32 value type, value), tensor infos (string name, u32 n_dims, n_dims x u64
//! ne, u32 ggml type, u64 offset relative to the data section), padding to the alignment
//! (`general.alignment`, default 32), tensor data. A string is a u64 length and that many
//! UTF-8 bytes.

use super::dtype::GgmlType;
use std::fmt;
use std::io::{BufReader, Read};
use std::path::Path;

/// The alignment of tensor data when `general.alignment` is absent.
pub const DEFAULT_ALIGNMENT: u64 = 32;
/// GGML's maximum number of tensor dimensions.
pub const MAX_DIMS: u32 = 4;
/// Deepest nesting of arrays accepted (real files use at most 1).
pub const MAX_ARRAY_DEPTH: u32 = 8;

/// A GGUF metadata value type (the u32 tag before each value).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueType {
    /// 0
    U8,
    /// 1
    I8,
    /// 2
    U16,
    /// 3
    I16,
    /// 4
    U32,
    /// 5
    I32,
    /// 6
    F32,
    /// 7
    Bool,
    /// 8
    String,
    /// 9
    Array,
    /// 10
    U64,
    /// 11
    I64,
    /// 12
    F64,
}

impl ValueType {
    /// The type with tag `tag`.
    pub fn from_tag(tag: u32) -> Option<ValueType> {
        use ValueType::*;
        Some(match tag {
            0 => U8,
            1 => I8,
            2 => U16,
            3 => I16,
            4 => U32,
            5 => I32,
            6 => F32,
            7 => Bool,
            8 => String,
            9 => Array,
            10 => U64,
            11 => I64,
            12 => F64,
            _ => return None,
        })
    }

    /// Fewest bytes a value of this type takes in the file (for plausibility checks of
    /// element counts before allocating).
    fn min_size(self) -> u64 {
        use ValueType::*;
        match self {
            U8 | I8 | Bool => 1,
            U16 | I16 => 2,
            U32 | I32 | F32 => 4,
            U64 | I64 | F64 | String => 8,
            Array => 12,
        }
    }
}

/// A metadata value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// uint8
    U8(u8),
    /// int8
    I8(i8),
    /// uint16
    U16(u16),
    /// int16
    I16(i16),
    /// uint32
    U32(u32),
    /// int32
    I32(i32),
    /// float32
    F32(f32),
    /// bool (one byte, 0 or 1)
    Bool(bool),
    /// UTF-8 string (invalid sequences replaced)
    String(String),
    /// array of values of one type
    Array(ValueType, Vec<Value>),
    /// uint64
    U64(u64),
    /// int64
    I64(i64),
    /// float64
    F64(f64),
}

impl Value {
    /// The value as an unsigned integer, if it is a non-negative integer of any width.
    pub fn as_u64(&self) -> Option<u64> {
        match *self {
            Value::U8(v) => Some(v.into()),
            Value::U16(v) => Some(v.into()),
            Value::U32(v) => Some(v.into()),
            Value::U64(v) => Some(v),
            Value::I8(v) => u64::try_from(v).ok(),
            Value::I16(v) => u64::try_from(v).ok(),
            Value::I32(v) => u64::try_from(v).ok(),
            Value::I64(v) => u64::try_from(v).ok(),
            _ => None,
        }
    }

    /// The value as a float, if it is a number.
    pub fn as_f64(&self) -> Option<f64> {
        match *self {
            Value::F32(v) => Some(v.into()),
            Value::F64(v) => Some(v),
            _ => self.as_u64().map(|v| v as f64),
        }
    }

    /// The value as a string, if it is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// A short description for messages (`u32 22`, `array of 32000 string`).
    pub fn describe(&self) -> String {
        match self {
            Value::Array(t, v) => format!("array of {} {t:?}", v.len()),
            Value::String(s) => format!("string {s:?}"),
            other => format!("{other:?}"),
        }
    }
}

/// One entry of the tensor table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TensorInfo {
    /// Tensor name.
    pub name: String,
    /// Shape, `ne0` first.
    pub dims: Vec<u64>,
    /// Element type.
    pub ggml_type: GgmlType,
    /// Offset of the data from the start of the data section.
    pub offset: u64,
    /// Size of the data in bytes.
    pub bytes: u64,
}

/// A parsed GGUF header.
#[derive(Debug, Clone, PartialEq)]
pub struct GgufFile {
    /// Format version (2 or 3).
    pub version: u32,
    /// Metadata in file order (keys are unique).
    pub metadata: Vec<(String, Value)>,
    /// Tensor table in file order (names are unique).
    pub tensors: Vec<TensorInfo>,
    /// Alignment of tensor data.
    pub alignment: u64,
    /// Absolute file offset of the data section.
    pub data_offset: u64,
    /// Length of the file.
    pub file_size: u64,
}

impl GgufFile {
    /// The value of metadata key `key`.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.metadata.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// The vocabulary (`tokenizer.ggml.tokens`), when the file has one as strings.
    pub fn vocabulary(&self) -> Option<Vec<String>> {
        match self.get("tokenizer.ggml.tokens")? {
            Value::Array(_, v) => v.iter().map(|x| x.as_str().map(str::to_string)).collect(),
            _ => None,
        }
    }

    /// Bytes of all tensor data (without padding).
    pub fn tensor_bytes(&self) -> u64 {
        self.tensors.iter().map(|t| t.bytes).sum()
    }
}

/// What went wrong, where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GgufError {
    /// The file.
    pub file: String,
    /// Byte offset where the offending field starts.
    pub offset: u64,
    /// The field being read (`tensor 3 (`blk.0.attn_q.weight`) type`).
    pub field: String,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for GgufError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: byte {}: {}: {}",
            self.file, self.offset, self.field, self.message
        )
    }
}

impl std::error::Error for GgufError {}

/// Token ids as text, decoded the way llama.cpp decodes SentencePiece pieces: `▁` (U+2581)
/// is a space, a piece `<0xNN>` is the byte NN, any other piece is its UTF-8 text; the bytes
/// are joined and read as UTF-8 (invalid sequences replaced). An id outside the vocabulary
/// reads as `<id N?>`.
pub fn decode_pieces(vocab: &[String], ids: &[u32]) -> String {
    let mut bytes = Vec::new();
    for &id in ids {
        let Some(piece) = vocab.get(id as usize) else {
            bytes.extend_from_slice(format!("<id {id}?>").as_bytes());
            continue;
        };
        let byte = piece
            .strip_prefix("<0x")
            .and_then(|h| h.strip_suffix('>'))
            .filter(|h| h.len() == 2)
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match byte {
            Some(b) => bytes.push(b),
            None => bytes.extend_from_slice(piece.replace('\u{2581}', " ").as_bytes()),
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Reads the header of the GGUF file at `path`.
pub fn read_gguf(path: &Path) -> Result<GgufFile, GgufError> {
    let name = path.display().to_string();
    let err = |m: String| GgufError {
        file: name.clone(),
        offset: 0,
        field: "file".into(),
        message: m,
    };
    let f = std::fs::File::open(path).map_err(|e| err(format!("cannot open: {e}")))?;
    let len = f
        .metadata()
        .map_err(|e| err(format!("cannot stat: {e}")))?
        .len();
    parse_gguf(BufReader::with_capacity(1 << 16, f), len, &name)
}

/// Parses a GGUF header from `r`, whose total length is `len` bytes; `file` names it in
/// errors.
pub fn parse_gguf<R: Read>(r: R, len: u64, file: &str) -> Result<GgufFile, GgufError> {
    let mut p = Parser {
        r,
        pos: 0,
        len,
        file: file.to_string(),
    };
    p.file_header()
}

struct Parser<R> {
    r: R,
    pos: u64,
    len: u64,
    file: String,
}

impl<R: Read> Parser<R> {
    fn fail<T>(&self, at: u64, field: &str, message: String) -> Result<T, GgufError> {
        Err(GgufError {
            file: self.file.clone(),
            offset: at,
            field: field.to_string(),
            message,
        })
    }

    fn remaining(&self) -> u64 {
        self.len.saturating_sub(self.pos)
    }

    /// Reads exactly `n` bytes, after checking they are in the file.
    fn bytes(&mut self, n: u64, field: &dyn Fn() -> String) -> Result<Vec<u8>, GgufError> {
        if n > self.remaining() {
            return self.fail(
                self.pos,
                &field(),
                format!(
                    "needs {n} bytes but the file ends after {} more (file size {}): \
                     truncated or corrupt",
                    self.remaining(),
                    self.len
                ),
            );
        }
        let mut buf = vec![0u8; n as usize];
        if let Err(e) = self.r.read_exact(&mut buf) {
            return self.fail(self.pos, &field(), format!("read failed: {e}"));
        }
        self.pos += n;
        Ok(buf)
    }

    fn array<const N: usize>(&mut self, field: &dyn Fn() -> String) -> Result<[u8; N], GgufError> {
        let v = self.bytes(N as u64, field)?;
        let mut a = [0u8; N];
        a.copy_from_slice(&v);
        Ok(a)
    }

    fn u32(&mut self, field: &dyn Fn() -> String) -> Result<u32, GgufError> {
        Ok(u32::from_le_bytes(self.array(field)?))
    }

    fn u64(&mut self, field: &dyn Fn() -> String) -> Result<u64, GgufError> {
        Ok(u64::from_le_bytes(self.array(field)?))
    }

    /// A string; `lossy` replaces invalid UTF-8 (values), otherwise it is an error (keys,
    /// tensor names).
    fn string(&mut self, field: &dyn Fn() -> String, lossy: bool) -> Result<String, GgufError> {
        let at = self.pos;
        let n = self.u64(&|| format!("{} length", field()))?;
        if n > self.remaining() {
            return self.fail(
                at,
                &format!("{} length", field()),
                format!(
                    "string length {n} runs past the end of the file ({} bytes remain, \
                     file size {}): truncated or corrupt",
                    self.remaining(),
                    self.len
                ),
            );
        }
        let raw = self.bytes(n, field)?;
        match String::from_utf8(raw) {
            Ok(s) => Ok(s),
            Err(e) if lossy => Ok(String::from_utf8_lossy(e.as_bytes()).into_owned()),
            Err(e) => self.fail(at + 8, &field(), format!("not valid UTF-8: {e}")),
        }
    }

    fn file_header(&mut self) -> Result<GgufFile, GgufError> {
        if self.len < 4 {
            return self.fail(
                0,
                "magic",
                format!(
                    "the file is {} bytes long, too short to be GGUF (truncated?)",
                    self.len
                ),
            );
        }
        let magic = self.array::<4>(&|| "magic".into())?;
        if &magic != b"GGUF" {
            return self.fail(
                0,
                "magic",
                format!(
                    "expected \"GGUF\" (47 47 55 46), found {:02x} {:02x} {:02x} {:02x}: not a \
                     GGUF file",
                    magic[0], magic[1], magic[2], magic[3]
                ),
            );
        }
        let version = self.u32(&|| "version".into())?;
        match version {
            2 | 3 => {}
            1 => {
                return self.fail(
                    4,
                    "version",
                    "GGUF version 1 (32-bit counts, 2023) is not supported; re-convert the \
                     model with a current llama.cpp"
                        .into(),
                )
            }
            v if v.swap_bytes() == 2 || v.swap_bytes() == 3 => {
                return self.fail(
                    4,
                    "version",
                    format!("version field {v:#x} looks byte-swapped: big-endian GGUF files are not supported"),
                )
            }
            v => {
                return self.fail(
                    4,
                    "version",
                    format!("unknown GGUF version {v} (this reader knows versions 2 and 3)"),
                )
            }
        }
        let n_tensors = self.u64(&|| "tensor count".into())?;
        let n_kv = self.u64(&|| "metadata count".into())?;
        // Each metadata entry takes at least 8 (key length) + 1 (key) + 4 (type) + 1 bytes,
        // each tensor entry at least 8 + 1 + 4 + 8 + 4 + 8 bytes.
        self.plausible_count(8, "tensor count", n_tensors, 33)?;
        self.plausible_count(16, "metadata count", n_kv, 14)?;

        let mut metadata: Vec<(String, Value)> = Vec::with_capacity(n_kv.min(1 << 16) as usize);
        let mut seen = std::collections::BTreeSet::new();
        for i in 0..n_kv {
            let at = self.pos;
            let key = self.string(&|| format!("metadata entry {i} key"), false)?;
            if key.is_empty() {
                return self.fail(at, &format!("metadata entry {i} key"), "empty key".into());
            }
            let what = format!("metadata `{key}`");
            let tag_at = self.pos;
            let tag = self.u32(&|| format!("{what} value type"))?;
            let Some(vt) = ValueType::from_tag(tag) else {
                return self.fail(
                    tag_at,
                    &format!("{what} value type"),
                    format!("unknown value type {tag} (known: 0-12)"),
                );
            };
            let v = self.value(vt, &|| what.clone(), 0)?;
            if !seen.insert(key.clone()) {
                return self.fail(at, &what, "the key appears twice".into());
            }
            metadata.push((key, v));
        }

        let mut alignment = DEFAULT_ALIGNMENT;
        if let Some((_, v)) = metadata.iter().find(|(k, _)| k == "general.alignment") {
            match v {
                Value::U32(a) if *a > 0 && a.is_power_of_two() => alignment = u64::from(*a),
                other => {
                    return self.fail(
                        0,
                        "metadata `general.alignment`",
                        format!("must be a u32 power of two, not {}", other.describe()),
                    )
                }
            }
        }

        let mut tensors: Vec<TensorInfo> = Vec::with_capacity(n_tensors.min(1 << 16) as usize);
        let mut names = std::collections::BTreeSet::new();
        for i in 0..n_tensors {
            let at = self.pos;
            let name = self.string(&|| format!("tensor {i} name"), false)?;
            let what = format!("tensor {i} (`{name}`)");
            if !names.insert(name.clone()) {
                return self.fail(at, &what, "the tensor name appears twice".into());
            }
            let nd_at = self.pos;
            let n_dims = self.u32(&|| format!("{what} dimension count"))?;
            if n_dims == 0 || n_dims > MAX_DIMS {
                return self.fail(
                    nd_at,
                    &format!("{what} dimension count"),
                    format!("{n_dims} dimensions (GGML allows 1 to {MAX_DIMS})"),
                );
            }
            let mut dims = Vec::with_capacity(n_dims as usize);
            for d in 0..n_dims {
                let d_at = self.pos;
                let ne = self.u64(&|| format!("{what} ne{d}"))?;
                if ne == 0 || ne > i64::MAX as u64 {
                    return self.fail(
                        d_at,
                        &format!("{what} ne{d}"),
                        format!("dimension {ne} is not a positive 63-bit count"),
                    );
                }
                dims.push(ne);
            }
            let t_at = self.pos;
            let tid = self.u32(&|| format!("{what} type"))?;
            let Some(ggml_type) = GgmlType::from_id(tid) else {
                return self.fail(
                    t_at,
                    &format!("{what} type"),
                    format!("unknown GGML type id {tid}"),
                );
            };
            let bytes = match ggml_type.tensor_bytes(&dims) {
                Ok(b) => b,
                Err(m) => return self.fail(at, &what, format!("{ggml_type} {dims:?}: {m}")),
            };
            let o_at = self.pos;
            let offset = self.u64(&|| format!("{what} data offset"))?;
            if !offset.is_multiple_of(alignment) {
                return self.fail(
                    o_at,
                    &format!("{what} data offset"),
                    format!("{offset} is not a multiple of the alignment {alignment}"),
                );
            }
            tensors.push(TensorInfo {
                name,
                dims,
                ggml_type,
                offset,
                bytes,
            });
        }
        let header_end = self.pos;
        let data_offset = header_end.div_ceil(alignment) * alignment;

        // Tensor data must lie inside the file and not overlap.
        let mut order: Vec<usize> = (0..tensors.len()).collect();
        order.sort_by_key(|&i| (tensors[i].offset, i));
        let mut prev_end = 0u64;
        let mut prev_name = "";
        for &i in &order {
            let t = &tensors[i];
            let what = format!("tensor {i} (`{}`) data", t.name);
            let Some(start) = data_offset.checked_add(t.offset) else {
                return self.fail(header_end, &what, "offset overflows 64 bits".into());
            };
            let Some(end) = start.checked_add(t.bytes) else {
                return self.fail(header_end, &what, "offset + size overflows 64 bits".into());
            };
            if end > self.len {
                return self.fail(
                    start,
                    &what,
                    format!(
                        "{} bytes at file offset {start} end at {end}, past the end of the \
                         file ({} bytes): truncated",
                        t.bytes, self.len
                    ),
                );
            }
            if t.offset < prev_end {
                return self.fail(
                    start,
                    &what,
                    format!("overlaps the data of tensor `{prev_name}`"),
                );
            }
            prev_end = t.offset + t.bytes;
            prev_name = &t.name;
        }
        Ok(GgufFile {
            version,
            metadata,
            tensors,
            alignment,
            data_offset,
            file_size: self.len,
        })
    }

    fn plausible_count(
        &self,
        at: u64,
        field: &str,
        n: u64,
        min_each: u64,
    ) -> Result<(), GgufError> {
        if n.checked_mul(min_each).is_none_or(|b| b > self.remaining()) {
            return self.fail(
                at,
                field,
                format!(
                    "{n} entries cannot fit in the {} bytes left in the file (each takes at \
                     least {min_each}): truncated or corrupt",
                    self.remaining()
                ),
            );
        }
        Ok(())
    }

    /// Reads one value of type `vt`. `what` names it for errors; it is only called when an
    /// error is reported, so array elements cost no formatting on the good path.
    fn value(
        &mut self,
        vt: ValueType,
        what: &dyn Fn() -> String,
        depth: u32,
    ) -> Result<Value, GgufError> {
        let f = what;
        Ok(match vt {
            ValueType::U8 => Value::U8(self.array::<1>(f)?[0]),
            ValueType::I8 => Value::I8(self.array::<1>(f)?[0] as i8),
            ValueType::U16 => Value::U16(u16::from_le_bytes(self.array(f)?)),
            ValueType::I16 => Value::I16(i16::from_le_bytes(self.array(f)?)),
            ValueType::U32 => Value::U32(self.u32(f)?),
            ValueType::I32 => Value::I32(i32::from_le_bytes(self.array(f)?)),
            ValueType::F32 => Value::F32(f32::from_le_bytes(self.array(f)?)),
            ValueType::U64 => Value::U64(self.u64(f)?),
            ValueType::I64 => Value::I64(i64::from_le_bytes(self.array(f)?)),
            ValueType::F64 => Value::F64(f64::from_le_bytes(self.array(f)?)),
            ValueType::Bool => {
                let at = self.pos;
                match self.array::<1>(f)?[0] {
                    0 => Value::Bool(false),
                    1 => Value::Bool(true),
                    b => return self.fail(at, &what(), format!("bool byte is {b}, not 0 or 1")),
                }
            }
            ValueType::String => Value::String(self.string(f, true)?),
            ValueType::Array => {
                let at = self.pos;
                if depth >= MAX_ARRAY_DEPTH {
                    return self.fail(
                        at,
                        &what(),
                        format!("arrays nested deeper than {MAX_ARRAY_DEPTH} levels"),
                    );
                }
                let tag = self.u32(&|| format!("{} array element type", what()))?;
                let Some(et) = ValueType::from_tag(tag) else {
                    return self.fail(
                        at,
                        &format!("{} array element type", what()),
                        format!("unknown value type {tag} (known: 0-12)"),
                    );
                };
                let n_at = self.pos;
                let n = self.u64(&|| format!("{} array length", what()))?;
                self.plausible_count(n_at, &format!("{} array length", what()), n, et.min_size())?;
                let mut v = Vec::with_capacity(n.min(1 << 16) as usize);
                for j in 0..n {
                    let elem = || format!("{}[{j}]", what());
                    v.push(self.value(et, &elem, depth + 1)?);
                }
                Value::Array(et, v)
            }
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A minimal GGUF writer for tests (the format as described at the top of this file).
    pub(crate) struct Writer {
        pub kv: Vec<u8>,
        pub n_kv: u64,
        pub infos: Vec<u8>,
        pub n_tensors: u64,
        pub data: Vec<u8>,
    }

    impl Writer {
        pub fn new() -> Self {
            Writer {
                kv: Vec::new(),
                n_kv: 0,
                infos: Vec::new(),
                n_tensors: 0,
                data: Vec::new(),
            }
        }
        fn str(buf: &mut Vec<u8>, s: &str) {
            buf.extend((s.len() as u64).to_le_bytes());
            buf.extend(s.as_bytes());
        }
        pub fn kv_u32(&mut self, k: &str, v: u32) {
            Self::str(&mut self.kv, k);
            self.kv.extend(4u32.to_le_bytes());
            self.kv.extend(v.to_le_bytes());
            self.n_kv += 1;
        }
        pub fn kv_f32(&mut self, k: &str, v: f32) {
            Self::str(&mut self.kv, k);
            self.kv.extend(6u32.to_le_bytes());
            self.kv.extend(v.to_le_bytes());
            self.n_kv += 1;
        }
        pub fn kv_str(&mut self, k: &str, v: &str) {
            Self::str(&mut self.kv, k);
            self.kv.extend(8u32.to_le_bytes());
            Self::str(&mut self.kv, v);
            self.n_kv += 1;
        }
        pub fn kv_str_array(&mut self, k: &str, v: &[&str]) {
            Self::str(&mut self.kv, k);
            self.kv.extend(9u32.to_le_bytes());
            self.kv.extend(8u32.to_le_bytes());
            self.kv.extend((v.len() as u64).to_le_bytes());
            for s in v {
                Self::str(&mut self.kv, s);
            }
            self.n_kv += 1;
        }
        pub fn tensor(&mut self, name: &str, dims: &[u64], t: GgmlType) {
            let bytes = t.tensor_bytes(dims).unwrap();
            let off = self.data.len().div_ceil(32) * 32;
            self.data.resize(off, 0);
            Self::str(&mut self.infos, name);
            self.infos.extend((dims.len() as u32).to_le_bytes());
            for d in dims {
                self.infos.extend(d.to_le_bytes());
            }
            self.infos.extend(t.id().to_le_bytes());
            self.infos.extend((off as u64).to_le_bytes());
            self.data.extend((0..bytes).map(|i| (i * 7 + 3) as u8));
            self.n_tensors += 1;
        }
        pub fn finish(&self) -> Vec<u8> {
            let mut f = b"GGUF".to_vec();
            f.extend(3u32.to_le_bytes());
            f.extend(self.n_tensors.to_le_bytes());
            f.extend(self.n_kv.to_le_bytes());
            f.extend(&self.kv);
            f.extend(&self.infos);
            f.resize(f.len().div_ceil(32) * 32, 0);
            f.extend(&self.data);
            f
        }
    }

    pub(crate) fn sample() -> Vec<u8> {
        let mut w = Writer::new();
        w.kv_str("general.architecture", "llama");
        w.kv_u32("llama.block_count", 1);
        w.kv_f32("llama.attention.layer_norm_rms_epsilon", 1e-5);
        w.kv_str_array("tokenizer.ggml.tokens", &["<s>", "</s>", "a"]);
        w.tensor("token_embd.weight", &[256, 3], GgmlType::Q4_K);
        w.tensor("blk.0.attn_norm.weight", &[256], GgmlType::F32);
        w.tensor("blk.0.attn_q.weight", &[256, 256], GgmlType::Q8_0);
        w.finish()
    }

    fn parse(b: &[u8]) -> Result<GgufFile, GgufError> {
        parse_gguf(std::io::Cursor::new(b), b.len() as u64, "t.gguf")
    }

    #[test]
    fn reads_what_the_writer_wrote() {
        let b = sample();
        let g = parse(&b).unwrap();
        assert_eq!(g.version, 3);
        assert_eq!(g.get("llama.block_count"), Some(&Value::U32(1)));
        assert_eq!(
            g.get("general.architecture").unwrap().as_str(),
            Some("llama")
        );
        match g.get("tokenizer.ggml.tokens") {
            Some(Value::Array(ValueType::String, v)) => assert_eq!(v.len(), 3),
            other => panic!("{other:?}"),
        }
        assert_eq!(g.tensors.len(), 3);
        assert_eq!(g.tensors[0].bytes, 3 * 144);
        assert_eq!(g.tensors[2].dims, vec![256, 256]);
        assert_eq!(g.tensors[2].ggml_type, GgmlType::Q8_0);
        assert_eq!(g.data_offset % 32, 0);
        let last = g.tensors.last().unwrap();
        assert_eq!(g.data_offset + last.offset + last.bytes, b.len() as u64);
    }

    #[test]
    fn specific_corruptions_give_specific_messages() {
        let good = sample();
        let mut b = good.clone();
        b[0] = b'X';
        assert!(parse(&b)
            .unwrap_err()
            .to_string()
            .contains("not a GGUF file"));
        let mut b = good.clone();
        b[4..8].copy_from_slice(&7u32.to_le_bytes());
        let e = parse(&b).unwrap_err();
        assert_eq!((e.offset, e.field.as_str()), (4, "version"));
        assert!(e.message.contains("unknown GGUF version 7"), "{e}");
        let mut b = good.clone();
        b[8..16].copy_from_slice(&u64::MAX.to_le_bytes());
        assert!(parse(&b).unwrap_err().to_string().contains("tensor count"));
        let mut b = good.clone();
        b[24..32].copy_from_slice(&(1u64 << 40).to_le_bytes());
        let e = parse(&b).unwrap_err();
        assert!(e.to_string().contains("metadata entry 0 key length"), "{e}");
        assert!(e.to_string().contains("past the end of the file"), "{e}");
        let e = parse(&good[..good.len() - 1]).unwrap_err();
        assert!(e.to_string().contains("blk.0.attn_q.weight"), "{e}");
        assert!(e.to_string().contains("truncated"), "{e}");
        assert!(parse(&good[..2])
            .unwrap_err()
            .to_string()
            .contains("too short"));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        /// Any prefix of a valid file is refused with an error, never a panic.
        #[test]
        fn truncations_never_panic(cut in 0usize..4096) {
            let b = sample();
            let cut = cut % b.len();
            prop_assert!(parse(&b[..cut]).is_err());
        }

        /// Flipped bits and overwritten bytes anywhere in the header give an error or a
        /// (different but well-formed) file, never a panic or a huge allocation.
        #[test]
        fn corruptions_never_panic(
            edits in proptest::collection::vec((0usize..4096, any::<u8>(), any::<bool>()), 1..6)
        ) {
            let mut b = sample();
            let n = b.len();
            for (pos, val, flip) in edits {
                let p = pos % n;
                if flip { b[p] ^= 1 << (val % 8) } else { b[p] = val }
            }
            let _ = parse(&b);
        }

        /// Eight bytes of 0xff (an absurd u64) anywhere in the header are handled.
        #[test]
        fn absurd_u64_fields_never_panic(pos in 0usize..512) {
            let mut b = sample();
            let p = pos % (b.len() - 8);
            b[p..p + 8].copy_from_slice(&u64::MAX.to_le_bytes());
            let _ = parse(&b);
        }
    }
}
