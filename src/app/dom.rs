//! Plain DOM for the parts drawn whole from data and redrawn whole when it changes (the
//! target list's status, the results table, its rows and bars, "what others see", what the
//! verdicts mean): a few shared, non-generic
//! calls instead of Leptos's typed views, whose build, rebuild and drop code is generated per
//! view (the two panels alone cost the page about 11 KB gzip as views). Text goes in as text
//! nodes, never as HTML.
//!
//! A part is drawn by an effect into its host element (with a `NodeRef`), so it follows its
//! signals (and the language) as a view would.

use web_sys::Element;

/// An element being built; every call does nothing if the document is gone.
pub struct El(Option<Element>);

fn create(namespace: Option<&str>, tag: &str) -> El {
    El(web_sys::window().and_then(|w| w.document()).and_then(|d| d.create_element_ns(namespace, tag).ok()))
}

/// An HTML element.
pub fn el(tag: &str) -> El {
    create(Some("http://www.w3.org/1999/xhtml"), tag)
}

/// An SVG element.
pub fn svg(tag: &str) -> El {
    create(Some("http://www.w3.org/2000/svg"), tag)
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

    /// The element itself, to draw into later.
    pub fn element(&self) -> Option<Element> {
        self.0.clone()
    }

    pub fn child(self, child: El) -> El {
        if let (Some(e), Some(c)) = (&self.0, &child.0) {
            let _ = e.append_with_node_1(c);
        }
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
