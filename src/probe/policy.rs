//! The page's own Content-Security-Policy, as seen through `securitypolicyviolation` events:
//! the only positive evidence that a failure happened inside the browser (an embedding site's
//! policy) rather than on the network.

use std::cell::RefCell;
use std::rc::Rc;

use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;
use web_sys::SecurityPolicyViolationEvent;

/// Records the URLs the page's policy refused while it lives.
pub struct PolicyWatch {
    blocked: Rc<RefCell<Vec<String>>>,
    listener: Option<Closure<dyn FnMut(SecurityPolicyViolationEvent)>>,
}

impl PolicyWatch {
    pub fn start() -> PolicyWatch {
        let blocked = Rc::new(RefCell::new(Vec::new()));
        let sink = blocked.clone();
        let listener =
            Closure::<dyn FnMut(SecurityPolicyViolationEvent)>::new(move |e: SecurityPolicyViolationEvent| {
                sink.borrow_mut().push(e.blocked_uri());
            });
        let added = web_sys::window().and_then(|w| w.document()).is_some_and(|d| {
            d.add_event_listener_with_callback("securitypolicyviolation", listener.as_ref().unchecked_ref()).is_ok()
        });
        PolicyWatch { blocked, listener: added.then_some(listener) }
    }

    /// Did the policy refuse `url`? Browsers report the full URL, or only its origin when
    /// the request was redirected, so an origin match counts too.
    pub fn refused(&self, url: &str) -> bool {
        let origin = web_sys::Url::new(url).map(|u| u.origin()).unwrap_or_default();
        self.blocked.borrow().iter().any(|b| b == url || (!origin.is_empty() && b.trim_end_matches('/') == origin))
    }
}

impl Drop for PolicyWatch {
    fn drop(&mut self) {
        if let (Some(listener), Some(doc)) = (&self.listener, web_sys::window().and_then(|w| w.document())) {
            let _ =
                doc.remove_event_listener_with_callback("securitypolicyviolation", listener.as_ref().unchecked_ref());
        }
    }
}
