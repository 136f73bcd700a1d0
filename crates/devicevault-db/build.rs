//! `sqlx::migrate!` embeds the migrations at compile time; without this a
//! migration added to an already-built crate would be left out of it.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
