//! libcamrelay's pipeline from Rust, as livehal's `NativePipeline` wraps its
//! C++ pipeline: the FFI is private to this crate (hand-written `extern "C"`
//! declarations of include/camrelay/pipeline.h, no bindgen, no crates), the
//! callback copies each packet's bytes at once and sends them through an
//! `mpsc` channel, and `Drop` stops and frees the pipeline.
use std::ffi::{c_void, CStr, CString};
use std::os::raw::{c_char, c_int, c_uint};
use std::sync::mpsc::{channel, Receiver, Sender};

pub const KEYFRAME: u32 = 1;
pub const CONFIG: u32 = 2;
pub const CODEC_H264: i32 = 100;

mod ffi {
    use super::*;

    #[repr(C)]
    pub struct Pipeline {
        _private: [u8; 0],
    }

    /// camrelay_encoded_packet
    #[repr(C)]
    pub struct EncodedPacket {
        pub data: *const u8,
        pub size: usize,
        pub capture_time_ns: i64,
        pub pts: i64,
        pub clock_rate: u32,
        pub flags: u32,
        pub codec: c_int,
        pub width: c_int,
        pub height: c_int,
        pub sequence: u64,
        pub encoded_time_ns: i64,
    }

    pub type PacketFn = extern "C" fn(pkt: *const EncodedPacket, opaque: *mut c_void);

    #[link(name = "camrelay")]
    extern "C" {
        pub fn camrelay_api_version() -> c_uint;
        pub fn camrelay_version_string() -> *const c_char;
        pub fn camrelay_pipeline_create_toml(
            toml: *const c_char,
            name: *const c_char,
            stream: *const c_char,
            err: *mut c_char,
            errlen: usize,
        ) -> *mut Pipeline;
        pub fn camrelay_pipeline_set_packet_callback(
            p: *mut Pipeline,
            f: Option<PacketFn>,
            opaque: *mut c_void,
        ) -> c_int;
        pub fn camrelay_pipeline_start(p: *mut Pipeline) -> c_int;
        pub fn camrelay_pipeline_destroy(p: *mut Pipeline);
        pub fn camrelay_pipeline_request_keyframe(p: *mut Pipeline) -> c_int;
        pub fn camrelay_pipeline_set_bitrate(p: *mut Pipeline, bps: i64) -> c_int;
        pub fn camrelay_pipeline_last_error(p: *mut Pipeline) -> *const c_char;
    }
}

/// The API major this crate was written for.
pub const API_MAJOR: u32 = 0;

/// One encoded access unit, owned.
#[derive(Debug, Clone)]
pub struct EncodedPacket {
    pub data: Vec<u8>,
    pub capture_time_ns: i64,
    pub pts: i64,
    pub clock_rate: u32,
    pub flags: u32,
    pub codec: i32,
    pub width: i32,
    pub height: i32,
    pub sequence: u64,
    pub encoded_time_ns: i64,
}

impl EncodedPacket {
    pub fn is_keyframe(&self) -> bool {
        self.flags & KEYFRAME != 0
    }
}

pub fn api_version() -> u32 {
    unsafe { ffi::camrelay_api_version() }
}

pub fn version() -> String {
    unsafe { CStr::from_ptr(ffi::camrelay_version_string()) }
        .to_string_lossy()
        .into_owned()
}

/// A capture-and-encode pipeline. Packets arrive on `packets()`.
pub struct NativePipeline {
    p: *mut ffi::Pipeline,
    // Owned by the callback's opaque pointer; freed after the pipeline is.
    tx: *mut Sender<EncodedPacket>,
    rx: Receiver<EncodedPacket>,
}

// The library may be driven from any thread (pipeline.h's threading rules).
unsafe impl Send for NativePipeline {}

extern "C" fn on_packet(pkt: *const ffi::EncodedPacket, opaque: *mut c_void) {
    // On the encoder's thread; the bytes are only valid during this call.
    let (pkt, tx) = unsafe { (&*pkt, &*(opaque as *const Sender<EncodedPacket>)) };
    let data = unsafe { std::slice::from_raw_parts(pkt.data, pkt.size) }.to_vec();
    // A receiver that is gone (the owner stopped reading) is no matter.
    let _ = tx.send(EncodedPacket {
        data,
        capture_time_ns: pkt.capture_time_ns,
        pts: pkt.pts,
        clock_rate: pkt.clock_rate,
        flags: pkt.flags,
        codec: pkt.codec,
        width: pkt.width,
        height: pkt.height,
        sequence: pkt.sequence,
        encoded_time_ns: pkt.encoded_time_ns,
    });
}

impl NativePipeline {
    /// From TOML in seed 001's schema; `stream` None = the first stream.
    /// Err holds the configuration error ("file:line:col: key: ...").
    pub fn from_toml(toml: &str, name: Option<&str>, stream: Option<&str>) -> Result<Self, String> {
        let toml = CString::new(toml).map_err(|e| e.to_string())?;
        let name = name.map(|s| CString::new(s).unwrap());
        let stream = stream.map(|s| CString::new(s).unwrap());
        let mut err = vec![0 as c_char; 1024];
        let p = unsafe {
            ffi::camrelay_pipeline_create_toml(
                toml.as_ptr(),
                name.as_ref().map_or(std::ptr::null(), |s| s.as_ptr()),
                stream.as_ref().map_or(std::ptr::null(), |s| s.as_ptr()),
                err.as_mut_ptr(),
                err.len(),
            )
        };
        if p.is_null() {
            let msg = unsafe { CStr::from_ptr(err.as_ptr()) };
            return Err(msg.to_string_lossy().into_owned());
        }
        let (tx, rx) = channel();
        let tx = Box::into_raw(Box::new(tx));
        unsafe { ffi::camrelay_pipeline_set_packet_callback(p, Some(on_packet), tx as *mut c_void) };
        Ok(NativePipeline { p, tx, rx })
    }

    pub fn start(&self) -> Result<(), String> {
        if unsafe { ffi::camrelay_pipeline_start(self.p) } < 0 {
            return Err(self.last_error());
        }
        Ok(())
    }

    pub fn packets(&self) -> &Receiver<EncodedPacket> {
        &self.rx
    }

    /// E.g. on an RTCP PLI: the next encoded frame is a keyframe.
    pub fn request_keyframe(&self) {
        unsafe { ffi::camrelay_pipeline_request_keyframe(self.p) };
    }

    pub fn set_bitrate(&self, bps: i64) -> Result<(), String> {
        if unsafe { ffi::camrelay_pipeline_set_bitrate(self.p, bps) } < 0 {
            return Err(self.last_error());
        }
        Ok(())
    }

    pub fn last_error(&self) -> String {
        unsafe { CStr::from_ptr(ffi::camrelay_pipeline_last_error(self.p)) }
            .to_string_lossy()
            .into_owned()
    }
}

impl Drop for NativePipeline {
    fn drop(&mut self) {
        // Joins every thread of the pipeline: no callback runs afterwards,
        // so the sender can go.
        unsafe {
            ffi::camrelay_pipeline_destroy(self.p);
            drop(Box::from_raw(self.tx));
        }
    }
}
