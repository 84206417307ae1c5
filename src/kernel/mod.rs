//! Side effects on the kernel: netlink, namespaces, sysctls; applying plans with rollback.
