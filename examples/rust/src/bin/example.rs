//! The test source (640x480@30, noise, x264 2 Mbit/s, gop 30) through
//! NativePipeline; checks order, keyframes, request_keyframe, set_bitrate
//! and that dropping the pipeline leaves no thread. Exit 1 on a failure.
use camrelay::{NativePipeline, CODEC_H264, CONFIG, KEYFRAME};
use std::time::Duration;

const TOML: &str = r#"
[stream.example]
[[stream.example.sources]]
[stream.example.sources.capture]
backend = "test"
width = 640
height = 480
fps = 30
pattern = "noise"
[stream.example.sources.encoder]
backend = "x264"
codec = "h264"
bitrate = 2_000_000
gop = 30
"#;

fn threads() -> usize {
    std::fs::read_dir("/proc/self/task").map(|d| d.count()).unwrap_or(0)
}

struct Checks {
    passed: u32,
    failed: u32,
}

impl Checks {
    fn check(&mut self, ok: bool, what: &str, detail: String) {
        println!("{}: {}{}", if ok { "ok" } else { "FAIL" }, what, if detail.is_empty() { detail } else { format!(": {}", detail) });
        if ok { self.passed += 1 } else { self.failed += 1 }
    }
}

fn main() {
    let mut c = Checks { passed: 0, failed: 0 };
    println!("libcamrelay {}, API {}.{}", camrelay::version(), camrelay::api_version() >> 16, camrelay::api_version() & 0xffff);
    assert_eq!(camrelay::api_version() >> 16, camrelay::API_MAJOR, "library API major differs");
    let before_threads = threads();
    let gop = 30usize;
    let mut got = Vec::new();
    {
        let p = NativePipeline::from_toml(TOML, None, None).expect("config");
        p.start().expect("start");
        let rx = p.packets();
        let mut take = |got: &mut Vec<camrelay::EncodedPacket>, n: usize| {
            while got.len() < n {
                got.push(rx.recv_timeout(Duration::from_secs(30)).expect("no packet for 30 s"));
            }
        };
        take(&mut got, 100);
        let in_order = got.windows(2).all(|w| w[1].sequence > w[0].sequence && w[1].pts > w[0].pts);
        c.check(in_order, "100 packets in order", String::new());
        let h264 = got.iter().all(|p| p.codec == CODEC_H264 && p.data.len() > 4 && p.data[0] == 0 && p.data[1] == 0);
        c.check(h264, "all Annex-B H.264", String::new());
        c.check(got[0].flags & KEYFRAME != 0 && got[0].flags & CONFIG != 0, "first packet: keyframe with configuration", format!("flags {}", got[0].flags));
        let keys: Vec<usize> = got.iter().enumerate().filter(|(_, p)| p.is_keyframe()).map(|(i, _)| i).collect();
        let want: Vec<usize> = (0..got.len()).step_by(gop).collect();
        c.check(keys == want, "keyframes every gop packets", format!("at {:?}", keys));

        while got.len() % gop != gop / 2 {
            let n = got.len() + 1;
            take(&mut got, n);
        }
        // Packets already in the channel were made before the request.
        while let Ok(pkt) = rx.try_recv() {
            got.push(pkt);
        }
        let at = got.len();
        p.request_keyframe();
        take(&mut got, at + 3);
        let key_at = (at..got.len()).find(|&i| got[i].is_keyframe()).map(|i| i - at + 1);
        c.check(matches!(key_at, Some(1) | Some(2)), "request_keyframe: keyframe within 2 frames", format!("packet {:?} after", key_at));

        while let Ok(pkt) = rx.try_recv() {
            got.push(pkt);
        }
        let end = got.len();
        let bytes = |s: &[camrelay::EncodedPacket]| s.iter().filter(|p| !p.is_keyframe()).map(|p| p.data.len()).sum::<usize>();
        let before = bytes(&got[end - 60..end]);
        let r = p.set_bitrate(500_000);
        take(&mut got, end + 60);
        let after = bytes(&got[end..end + 60]);
        c.check(r.is_ok() && after * 2 <= before, "set_bitrate 2 -> 0.5 Mbit/s halves the bytes within 2 s", format!("{} bytes in 60 packets before, {} after", before, after));
    } // Drop: destroy
    // A joined thread leaves /proc a moment after pthread_join returns: wait up to 2 s.
    let mut after_threads = threads();
    for _ in 0..100 {
        if after_threads == before_threads {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
        after_threads = threads();
    }
    c.check(after_threads == before_threads, "drop leaves no thread", format!("{} -> {}", before_threads, after_threads));
    println!("camrelay-example: {} passed, {} failed", c.passed, c.failed);
    std::process::exit(if c.failed > 0 { 1 } else { 0 });
}
