//! The documents: plain, serialisable data that commands return and renderers print (the
//! JSON contract lives in their field names and schema versions). Nothing here reads a tenant,
//! writes a file or prints.

pub(crate) mod tenant;

pub(crate) use tenant::TenantSection;
