//! CloudFormation YAML to JSON.
//!
//! SAM templates are YAML with CloudFormation's short-form intrinsic functions (`!Ref X`,
//! `!GetAtt A.B`, `!Sub ...`), which are YAML tags. A plain YAML reader drops the tags and with
//! them the meaning; this one turns each into its long form (`{"Ref": "X"}`,
//! `{"Fn::GetAtt": ["A", "B"]}`, `{"Fn::Sub": ...}`), as CloudFormation does when it reads the
//! template (CloudFormation User Guide, intrinsic-function-reference). The JSON is what
//! `sluice local up` reads functions from, rewrites `CodeUri` in and sends to the engine.
//!
//! ```
//! let json = sluice_sam::cfn_yaml::to_json("Value: !GetAtt Queue.Arn\nName: !Ref Topic\n").unwrap();
//! assert_eq!(json["Value"]["Fn::GetAtt"], serde_json::json!(["Queue", "Arn"]));
//! assert_eq!(json["Name"]["Ref"], "Topic");
//! ```

use std::collections::HashMap;

use serde_json::{Map, Value};
use yaml_rust2::Yaml;
use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser, Tag};
use yaml_rust2::scanner::{Marker, TScalarStyle};

/// The text is not YAML: the parser's message, with line and column.
#[derive(Debug, thiserror::Error)]
#[error("not valid YAML: {0}")]
pub struct YamlError(String);

/// The first document of `text`, as JSON with intrinsic functions in their long form.
pub fn to_json(text: &str) -> Result<Value, YamlError> {
    let mut builder = Builder::default();
    Parser::new_from_str(text).load(&mut builder, false).map_err(|e| YamlError(e.to_string()))?;
    builder.done.ok_or_else(|| YamlError("the document is empty".into()))
}

enum Frame {
    Sequence { items: Vec<Value>, tag: Option<Tag>, anchor: usize },
    Mapping { entries: Map<String, Value>, key: Option<String>, tag: Option<Tag>, anchor: usize },
}

#[derive(Default)]
struct Builder {
    stack: Vec<Frame>,
    anchors: HashMap<usize, Value>,
    done: Option<Value>,
}

impl Builder {
    fn complete(&mut self, value: Value, anchor: usize) {
        if anchor > 0 {
            self.anchors.insert(anchor, value.clone());
        }
        match self.stack.last_mut() {
            None => {
                self.done.get_or_insert(value);
            }
            Some(Frame::Sequence { items, .. }) => items.push(value),
            Some(Frame::Mapping { entries, key, .. }) => match key.take() {
                None => *key = Some(key_text(value)),
                Some(k) => {
                    entries.insert(k, value);
                }
            },
        }
    }
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, event: Event, _mark: Marker) {
        match event {
            Event::Scalar(text, style, anchor, tag) => {
                let value = scalar(text, style, tag.as_ref());
                let value = intrinsic(tag.as_ref(), value);
                self.complete(value, anchor);
            }
            Event::SequenceStart(anchor, tag) => self.stack.push(Frame::Sequence { items: Vec::new(), tag, anchor }),
            Event::MappingStart(anchor, tag) => {
                self.stack.push(Frame::Mapping { entries: Map::new(), key: None, tag, anchor })
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let (value, tag, anchor) = match self.stack.pop() {
                    Some(Frame::Sequence { items, tag, anchor }) => (Value::Array(items), tag, anchor),
                    Some(Frame::Mapping { entries, tag, anchor, .. }) => (Value::Object(entries), tag, anchor),
                    None => return,
                };
                self.complete(intrinsic(tag.as_ref(), value), anchor);
            }
            Event::Alias(anchor) => {
                let value = self.anchors.get(&anchor).cloned().unwrap_or(Value::Null);
                self.complete(value, 0);
            }
            _ => {}
        }
    }
}

/// A scalar as YAML 1.2's core schema reads it: quoted is text; plain may be a number, a boolean
/// or null; `!!str` forces text.
fn scalar(text: String, style: TScalarStyle, tag: Option<&Tag>) -> Value {
    let forced_text = tag.is_some_and(|t| t.handle == "tag:yaml.org,2002:" && t.suffix == "str");
    let custom = tag.is_some_and(|t| t.handle == "!");
    if style != TScalarStyle::Plain || forced_text || custom {
        return Value::String(text);
    }
    match Yaml::from_str(&text) {
        Yaml::Integer(i) => Value::from(i),
        Yaml::Real(r) => {
            r.parse::<f64>().ok().and_then(serde_json::Number::from_f64).map_or(Value::String(text), Value::Number)
        }
        Yaml::Boolean(b) => Value::Bool(b),
        Yaml::Null => Value::Null,
        _ => Value::String(text),
    }
}

/// `!Name value` in its long form: `Ref` and `Condition` keep their names, `GetAtt` splits
/// `Resource.Attribute`, every other function is `Fn::Name`.
fn intrinsic(tag: Option<&Tag>, value: Value) -> Value {
    let Some(tag) = tag.filter(|t| t.handle == "!") else {
        return value;
    };
    let name = tag.suffix.as_str();
    let (key, value) = match name {
        "Ref" | "Condition" => (name.to_owned(), value),
        "GetAtt" => {
            let value = match value {
                Value::String(path) => match path.split_once('.') {
                    Some((resource, attribute)) => Value::from(vec![resource, attribute]),
                    None => Value::String(path),
                },
                other => other,
            };
            ("Fn::GetAtt".to_owned(), value)
        }
        other => (format!("Fn::{other}"), value),
    };
    Value::Object(Map::from_iter([(key, value)]))
}

fn key_text(value: Value) -> String {
    match value {
        Value::String(s) => s,
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn short_forms_become_long_forms() {
        let text = "\
A: !Sub \"arn:${AWS::Partition}:s3:::${Bucket}\"
B: !If [HasRedis, !Ref Url, !Ref AWS::NoValue]
C: !GetAtt Queue.Arn
D: !Select [0, !GetAZs \"\"]
E: !And [!Condition VpcEnabled, !Equals [!Ref X, \"true\"]]
F: !GetAtt [Queue, Arn]
";
        let json = to_json(text).unwrap();
        assert_eq!(json["A"], json!({"Fn::Sub": "arn:${AWS::Partition}:s3:::${Bucket}"}));
        assert_eq!(json["B"], json!({"Fn::If": ["HasRedis", {"Ref": "Url"}, {"Ref": "AWS::NoValue"}]}));
        assert_eq!(json["C"], json!({"Fn::GetAtt": ["Queue", "Arn"]}));
        assert_eq!(json["D"], json!({"Fn::Select": [0, {"Fn::GetAZs": ""}]}));
        assert_eq!(
            json["E"],
            json!({"Fn::And": [{"Condition": "VpcEnabled"}, {"Fn::Equals": [{"Ref": "X"}, "true"]}]})
        );
        assert_eq!(json["F"], json!({"Fn::GetAtt": ["Queue", "Arn"]}));
    }

    #[test]
    fn plain_scalars_have_types_and_quoted_ones_are_text() {
        let json = to_json("a: 10\nb: \"10\"\nc: true\nd: 'true'\ne: 2012-10-17\nf: ~\ng: 1.5\nh: !!str 7\n").unwrap();
        assert_eq!(
            json,
            json!({"a": 10, "b": "10", "c": true, "d": "true", "e": "2012-10-17", "f": null, "g": 1.5, "h": "7"})
        );
    }

    #[test]
    fn anchors_and_block_text_are_kept() {
        let json = to_json("base: &b {x: 1}\ncopy: *b\ntext: >\n  two\n  lines\n").unwrap();
        assert_eq!(json["copy"], json!({"x": 1}));
        assert_eq!(json["text"], "two lines\n");
    }

    #[test]
    fn broken_yaml_names_the_place() {
        let error = to_json("a: [1, 2\nb: c").unwrap_err().to_string();
        assert!(error.contains("line"), "{error}");
    }
}
