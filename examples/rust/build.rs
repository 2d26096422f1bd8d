// Finds the installed libcamrelay with the pkg-config program (no crates:
// std::process only) and links it, with its directory as the run-time path.
use std::process::Command;

fn pkg_config(arg: &str) -> String {
    let out = Command::new("pkg-config")
        .args([arg, "camrelay"])
        .output()
        .expect("pkg-config is not installed");
    if !out.status.success() {
        panic!(
            "pkg-config {} camrelay failed (set PKG_CONFIG_PATH to the directory of camrelay.pc): {}",
            arg,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

fn main() {
    println!("cargo:rerun-if-env-changed=PKG_CONFIG_PATH");
    let libdir = pkg_config("--variable=libdir");
    println!("cargo:rustc-link-search=native={}", libdir);
    println!("cargo:rustc-link-lib=dylib=camrelay");
    println!("cargo:rustc-link-arg=-Wl,-rpath,{}", libdir);
}
