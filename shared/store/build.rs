//! `sqlx::migrate!` embeds the migrations at compile time: a new or changed migration must
//! rebuild the store, or a binary would run with the migrations of its last build.

fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
