//! Entry point of the self-test page: mounts the app, nothing else.

fn main() {
    leptos::mount::mount_to_body(vantage::app::App);
}
