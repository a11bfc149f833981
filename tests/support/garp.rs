//! For the announcement tests: a one-way VRRP filter (the frame capture is in `vmac.rs`).

use super::*;

impl Lab {
    /// Makes `router` deaf to VRRP from `src` (nftables in its namespace; gone with it).
    pub fn drop_vrrp_from(&self, router: u8, src: &str) {
        self.check_router(router);
        let ns = self.router_ns(router);
        let rules = format!(
            "table inet keepvip_test {{\n  chain input {{\n    type filter hook input priority 0;\n    \
             ip saddr {src} ip protocol 112 drop\n  }}\n}}\n"
        );
        let path = self.dir().join(format!("nft-r{router}.rules"));
        write_file(&path, &rules, 0o644);
        checked(
            Command::new("ip")
                .args(["netns", "exec", &ns, "nft", "-f"])
                .arg(&path),
        );
    }
}
