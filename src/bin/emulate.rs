//! `emulate`: the sail-emu command line. All logic lives in the library's `cli` module.

fn main() -> std::process::ExitCode {
    sail_emu::cli::main()
}
