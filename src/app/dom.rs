//! Plain DOM: the few shared, non-generic calls the page is drawn with. Text goes in as text
//! nodes, never as HTML.
//!
//! Why no framework: the self-test page must arrive in under 100 KB gzip (DESIGN.md), and a
//! framework's reactive runtime and renderer were about 60 KB of the 145 KB the page weighed
//! with Leptos. The page's state is small and its changes are few and known (a run starts, a
//! target progresses, the run ends, the language changes, a submission moves on), so each
//! change calls the drawing of the parts it touches ([`super::Page`]).

use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;
use web_sys::{Element, Event, EventTarget, Node};

/// An element being built; every call does nothing if the document is gone.
pub struct El(Option<Element>);

fn document() -> Option<web_sys::Document> {
    web_sys::window()?.document()
}

fn create(namespace: Option<&str>, tag: &str) -> El {
    El(document().and_then(|d| d.create_element_ns(namespace, tag).ok()))
}

/// An HTML element.
pub fn el(tag: &str) -> El {
    create(Some("http://www.w3.org/1999/xhtml"), tag)
}

/// An SVG element.
pub fn svg(tag: &str) -> El {
    create(Some("http://www.w3.org/2000/svg"), tag)
}

/// A text node holding `text`.
pub fn text_node(text: &str) -> Option<Node> {
    Some(document()?.create_text_node(text).into())
}

impl El {
    pub fn attr(self, name: &str, value: &str) -> El {
        if let Some(e) = &self.0 {
            let _ = e.set_attribute(name, value);
        }
        self
    }

    /// Appends `text` as a text node.
    pub fn text(self, text: &str) -> El {
        if let Some(e) = &self.0 {
            let _ = e.append_with_str_1(text);
        }
        self
    }

    /// The element itself, to draw into or change later.
    pub fn element(&self) -> Option<Element> {
        self.0.clone()
    }

    pub fn child(self, child: El) -> El {
        if let (Some(e), Some(c)) = (&self.0, &child.0) {
            let _ = e.append_with_node_1(c);
        }
        self
    }

    /// Appends `node` (an element kept elsewhere, or a text node).
    pub fn node(self, node: Option<&Node>) -> El {
        if let (Some(e), Some(n)) = (&self.0, node) {
            let _ = e.append_with_node_1(n);
        }
        self
    }

    /// Hands the element to `keep` (to be changed later) and goes on building.
    pub fn keep(self, keep: &mut Option<Element>) -> El {
        *keep = self.0.clone();
        self
    }
}

/// Draws `content` as `host`'s children, in place of what was there.
pub fn draw(host: &Element, content: impl IntoIterator<Item = El>) {
    host.replace_children_with_node_0();
    for c in content.into_iter().filter_map(|c| c.0) {
        let _ = host.append_with_node_1(&c);
    }
}

/// Calls `handler` on every `event` at `target`, for the page's whole life.
pub fn on(target: &EventTarget, event: &str, handler: Box<dyn FnMut(Event)>) {
    let closure = Closure::wrap(handler);
    let _ = target.add_event_listener_with_callback(event, closure.as_ref().unchecked_ref());
    // The page's listeners live as long as the page: nothing is ever detached.
    closure.forget();
}

/// Shows `child` right after `anchor`, or takes it out of the document (a part that exists
/// only in some states, as the cancel button exists only during a run).
pub fn show_after(anchor: &Element, child: &Element, shown: bool) {
    if !shown {
        child.remove();
    } else if !child.is_connected() {
        let _ = anchor.after_with_node_1(child);
    }
}

/// Sets `e`'s text, leaving it untouched when it already says that (a live region would
/// otherwise be announced again for every write).
pub fn set_text(e: &Element, text: &str) {
    if e.text_content().as_deref() != Some(text) {
        e.set_text_content(Some(text));
    }
}

/// Sets or removes a boolean attribute such as `disabled` or `open`.
pub fn flag(e: &Element, name: &str, on: bool) {
    let _ = if on { e.set_attribute(name, "") } else { e.remove_attribute(name) };
}
