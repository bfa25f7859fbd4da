//! Instruction decoding. The HART helper owns this module's top level (the base, C, F/D and
//! Zfh decoders and the `Inst` enum); the extensions' decoders live in their own files.

pub mod xpop;
