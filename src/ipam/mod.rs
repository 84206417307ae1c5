//! The DORA allocator (pure).
