//! One feature value. Rows are slices of `Value` that the host reuses across flows, so
//! setting a string or list reuses its capacity (no allocation per flow once warm).
use abi_stable::{
    std_types::{RString, RVec},
    StableAbi,
};

#[repr(C, u8)]
#[derive(StableAbi, Clone, Debug, PartialEq, Default)]
pub enum Value {
    /// Missing / not applicable. Writers emit an empty field or `null`.
    #[default]
    Null,
    Int(i64),
    Float(f64),
    Bool(bool),
    Str(RString),
    FloatList(RVec<f64>),
    IntList(RVec<i64>),
}

impl Value {
    #[inline]
    pub fn set_int(&mut self, v: i64) {
        *self = Value::Int(v);
    }
    #[inline]
    pub fn set_float(&mut self, v: f64) {
        *self = Value::Float(v);
    }
    #[inline]
    pub fn set_bool(&mut self, v: bool) {
        *self = Value::Bool(v);
    }
    #[inline]
    pub fn set_null(&mut self) {
        if !matches!(self, Value::Null) {
            *self = Value::Null;
        }
    }

    /// Sets a string, reusing the existing buffer when this slot already holds one.
    #[inline]
    pub fn set_str(&mut self, s: &str) {
        if let Value::Str(buf) = self {
            buf.clear();
            buf.push_str(s);
        } else {
            *self = Value::Str(RString::from(s));
        }
    }

    /// Gives a cleared string buffer to write into (e.g. with `write!`), reusing capacity.
    #[inline]
    pub fn str_buf(&mut self) -> &mut RString {
        if !matches!(self, Value::Str(_)) {
            *self = Value::Str(RString::new());
        }
        match self {
            Value::Str(buf) => {
                buf.clear();
                buf
            }
            _ => unreachable!("set just above"),
        }
    }

    /// Gives a cleared float-list buffer, reusing capacity.
    #[inline]
    pub fn float_list(&mut self) -> &mut RVec<f64> {
        if !matches!(self, Value::FloatList(_)) {
            *self = Value::FloatList(RVec::new());
        }
        match self {
            Value::FloatList(v) => {
                v.clear();
                v
            }
            _ => unreachable!("set just above"),
        }
    }

    /// Gives a cleared int-list buffer, reusing capacity.
    #[inline]
    pub fn int_list(&mut self) -> &mut RVec<i64> {
        if !matches!(self, Value::IntList(_)) {
            *self = Value::IntList(RVec::new());
        }
        match self {
            Value::IntList(v) => {
                v.clear();
                v
            }
            _ => unreachable!("set just above"),
        }
    }

    #[inline]
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Int(i) => Some(*i as f64),
            Value::Float(f) => Some(*f),
            Value::Bool(b) => Some(*b as u8 as f64),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_slot_reuses_capacity() {
        let mut v = Value::Null;
        v.set_str("hello world, a long enough string");
        let cap = match &v {
            Value::Str(s) => s.capacity(),
            _ => unreachable!(),
        };
        v.set_str("short");
        match &v {
            Value::Str(s) => {
                assert_eq!(s.as_str(), "short");
                assert_eq!(s.capacity(), cap);
            }
            _ => panic!("not a string"),
        }
    }
}
