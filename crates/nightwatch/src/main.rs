//! The nightwatch binary: everything it does is in the library (`nightwatch::main_with_args`).

fn main() -> anyhow::Result<()> {
    nightwatch::main_with_args()
}
