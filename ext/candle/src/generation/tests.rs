use super::sampler::{apply_repetition_penalty, argmax};
use super::*;

#[test]
fn stop_strings_split_across_pieces_are_never_shown() {
    let mut m = StopMatcher::new(vec!["<END>".into(), "\n\nUser:".into()]);
    assert_eq!(m.push("Hello <"), ("Hello ".to_string(), false));
    assert_eq!(m.push("EN"), (String::new(), false));
    assert_eq!(m.push("D> more"), (String::new(), true));
    assert_eq!(m.push("ignored"), (String::new(), true));
    let mut m = StopMatcher::new(vec!["<END>".into()]);
    assert_eq!(m.push("a <E"), ("a ".to_string(), false));
    assert_eq!(m.push("x"), ("<Ex".to_string(), false));
    assert_eq!(m.push("日本<"), ("日本".to_string(), false));
    assert_eq!(m.flush(), "<");
}

#[test]
fn greedy_and_penalty() {
    assert_eq!(argmax(&[0.1, 3.0, 3.0, -1.0]), 1);
    let mut l = vec![2.0, -2.0, 1.0];
    apply_repetition_penalty(&mut l, &[0, 1, 0], 2.0);
    assert_eq!(l, vec![1.0, -4.0, 1.0]);
}

#[test]
fn seeded_sampling_is_reproducible_and_filters_apply() {
    let cfg = GenerationConfig { temperature: 1.0, seed: Some(7), ..Default::default() };
    let logits: Vec<f32> = (0..50).map(|i| (i as f32) * 0.1).collect();
    let draw = |cfg: &GenerationConfig| {
        let mut s = Sampler::new(cfg);
        (0..20).map(|_| s.sample(&mut logits.clone(), &[]).unwrap()).collect::<Vec<_>>()
    };
    assert_eq!(draw(&cfg), draw(&cfg));
    let top1 = GenerationConfig { top_k: Some(1), ..cfg.clone() };
    assert!(draw(&top1).iter().all(|&t| t == 49));
    let min_p = GenerationConfig { min_p: Some(0.99), ..cfg.clone() };
    assert!(draw(&min_p).iter().all(|&t| t == 49));
    let top_p = GenerationConfig { top_p: Some(0.05), ..cfg.clone() };
    assert!(draw(&top_p).iter().all(|&t| t >= 45));
}

#[test]
fn invalid_options_are_argument_errors() {
    for bad in [
        GenerationConfig { max_tokens: 0, ..Default::default() },
        GenerationConfig { temperature: -1.0, ..Default::default() },
        GenerationConfig { top_p: Some(0.0), ..Default::default() },
        GenerationConfig { top_k: Some(0), ..Default::default() },
        GenerationConfig { min_p: Some(1.5), ..Default::default() },
        GenerationConfig { repetition_penalty: 0.0, ..Default::default() },
        GenerationConfig { stop: vec![String::new()], ..Default::default() },
    ] {
        assert_eq!(bad.validate().unwrap_err().kind, crate::error::ErrorKind::Argument, "{bad:?}");
    }
}
