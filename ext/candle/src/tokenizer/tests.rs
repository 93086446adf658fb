//! Core tokenizer tests that need no model files (the real tokenizers are
//! covered by the Ruby suite against Python references).

use super::*;

fn tiny_vocab() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let vocab = "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nhello\nworld\n##s\n,\n!\n";
    std::fs::write(dir.path().join("vocab.txt"), vocab).unwrap();
    dir
}

#[test]
fn wordpiece_from_vocab_txt() {
    let dir = tiny_vocab();
    let t = from_vocab(&dir.path().join("vocab.txt"), true).unwrap();
    let e = t.encode("Hello worlds!", None, true).unwrap();
    assert_eq!(e.get_tokens(), &["[CLS]", "hello", "world", "##s", "!", "[SEP]"]);
    assert_eq!(e.get_offsets()[2], (6, 11));
    assert_eq!(t.decode(e.get_ids(), true).unwrap(), "hello worlds!");
    assert_eq!(t.specials.cls.as_deref(), Some("[CLS]"));
}

#[test]
fn char_offsets_not_bytes() {
    let dir = tiny_vocab();
    let t = from_vocab(&dir.path().join("vocab.txt"), true).unwrap();
    let e = t.encode("ééé hello", None, false).unwrap();
    let i = e.get_tokens().iter().position(|x| x == "hello").unwrap();
    assert_eq!(e.get_offsets()[i], (4, 9));
}

#[test]
fn padding_and_truncation() {
    let dir = tiny_vocab();
    let mut t = from_vocab(&dir.path().join("vocab.txt"), true).unwrap();
    t.set_padding(Some(Padding { length: None, left: false, pad_id: None, pad_token: None, pad_type_id: 0, pad_to_multiple_of: None }))
        .unwrap();
    let b = t.encode_batch(vec!["hello".into(), "hello world hello".into()], None, true).unwrap();
    assert_eq!(b[0].get_ids().len(), b[1].get_ids().len());
    assert_eq!(b[0].get_attention_mask(), &[1, 1, 1, 0, 0]);
    t.set_truncation(Some(Truncation { max_length: 3, strategy: "longest_first".into(), left: false, stride: 0 })).unwrap();
    let e = t.encode("hello world hello", None, true).unwrap();
    assert_eq!(e.get_tokens(), &["[CLS]", "hello", "[SEP]"]);
    let bad = t.set_truncation(Some(Truncation { max_length: 3, strategy: "nope".into(), left: false, stride: 0 }));
    assert_eq!(bad.unwrap_err().kind, crate::error::ErrorKind::Argument);
}

#[test]
fn decode_rejects_ids_out_of_range() {
    let dir = tiny_vocab();
    let t = from_vocab(&dir.path().join("vocab.txt"), true).unwrap();
    assert_eq!(t.decode(&[5, 999], true).unwrap_err().kind, crate::error::ErrorKind::Argument);
}

#[test]
fn corrupt_tokenizer_json_is_a_tokenizer_error() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("tokenizer.json");
    std::fs::write(&p, "{\"model\": 1").unwrap();
    let e = from_tokenizer_json(&p).err().unwrap();
    assert_eq!(e.kind, crate::error::ErrorKind::Tokenizer);
    assert!(e.message.contains("not a valid tokenizer.json"), "{}", e.message);
}
