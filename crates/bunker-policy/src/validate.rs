//! Value rules.
