//! Exclusive XML canonicalization (xml-exc-c14n, W3C 2002) of one element's subtree, as XML-DSig
//! needs it for SAML: the signed element (minus its enveloped signature) and `SignedInfo`.
//!
//! Only what SAML uses is here: a whole element subtree as the document subset, optionally with
//! one descendant subtree left out (the enveloped-signature transform), with or without
//! comments, and an `InclusiveNamespaces` prefix list. roxmltree has already normalized line
//! ends and attribute values and expanded character references, which is the data model c14n
//! starts from. Element and attribute prefixes are read back from the input text, since the
//! tree keeps only namespace URIs and c14n must reproduce the prefixes as written.

use std::collections::BTreeMap;

use roxmltree::{Node, NodeId};

/// The XML namespace, bound to `xml` everywhere and never declared in canonical output.
const XML_NS: &str = "http://www.w3.org/XML/1998/namespace";

/// How to canonicalize.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Keep comments (`#WithComments`).
    pub with_comments: bool,
    /// Prefixes treated as by inclusive c14n (`InclusiveNamespaces PrefixList`); `#default`
    /// stands for the default namespace.
    pub inclusive_prefixes: Vec<String>,
    /// A descendant left out with its subtree (the enveloped signature).
    pub exclude: Option<NodeId>,
}

/// The exclusive canonical form of `apex` and its subtree.
pub fn canonicalize(apex: Node<'_, '_>, options: &Options) -> String {
    let mut out = String::new();
    // Namespace declarations already rendered by output ancestors: prefix ("" = default) → uri.
    let rendered: BTreeMap<String, String> = BTreeMap::new();
    write_node(apex, options, &rendered, &mut out);
    out
}

/// The prefix of a qualified name as written (`None` when unprefixed).
fn prefix_of(qname: &str) -> Option<&str> {
    qname.split_once(':').map(|(prefix, _)| prefix)
}

/// An element's qualified name as it appears in the input (`ds:Signature`).
fn element_qname<'a>(node: Node<'_, 'a>) -> &'a str {
    let text = node.document().input_text();
    let start = node.range().start + 1;
    let rest = text.get(start..).unwrap_or_default();
    let end = rest
        .find(|c: char| c.is_whitespace() || c == '/' || c == '>')
        .unwrap_or(rest.len());
    rest.get(..end).unwrap_or_default()
}

/// An attribute's qualified name as it appears in the input.
fn attribute_qname<'a>(node: Node<'_, 'a>, attribute: &roxmltree::Attribute<'_, 'a>) -> &'a str {
    node.document()
        .input_text()
        .get(attribute.range_qname())
        .unwrap_or_else(|| attribute.name())
}

/// The namespace bound to `prefix` ("" = default) in `node`'s scope; `None` when unbound or
/// bound to the empty name (`xmlns=""`).
fn in_scope<'a>(node: Node<'a, '_>, prefix: &str) -> Option<&'a str> {
    let wanted = if prefix.is_empty() {
        None
    } else {
        Some(prefix)
    };
    node.namespaces()
        .find(|ns| ns.name() == wanted)
        .map(|ns| ns.uri())
        .filter(|uri| !uri.is_empty())
}

fn write_node(
    node: Node<'_, '_>,
    options: &Options,
    rendered: &BTreeMap<String, String>,
    out: &mut String,
) {
    if Some(node.id()) == options.exclude {
        return;
    }
    match node.node_type() {
        roxmltree::NodeType::Element => write_element(node, options, rendered, out),
        roxmltree::NodeType::Text => escape_text(node.text().unwrap_or_default(), out),
        roxmltree::NodeType::Comment => {
            if options.with_comments {
                out.push_str("<!--");
                out.push_str(node.text().unwrap_or_default());
                out.push_str("-->");
            }
        }
        roxmltree::NodeType::PI => {
            if let Some(pi) = node.pi() {
                out.push_str("<?");
                out.push_str(pi.target);
                if let Some(value) = pi.value.filter(|v| !v.is_empty()) {
                    out.push(' ');
                    out.push_str(value);
                }
                out.push_str("?>");
            }
        }
        roxmltree::NodeType::Root => {
            for child in node.children() {
                write_node(child, options, rendered, out);
            }
        }
    }
}

fn write_element(
    node: Node<'_, '_>,
    options: &Options,
    rendered: &BTreeMap<String, String>,
    out: &mut String,
) {
    let qname = element_qname(node);
    // Prefixes this element needs declared: its own (or the default namespace), its prefixed
    // attributes', and the inclusive list's.
    let mut wanted: Vec<String> = vec![prefix_of(qname).unwrap_or_default().to_owned()];
    for attribute in node.attributes() {
        if let Some(prefix) = prefix_of(attribute_qname(node, &attribute)) {
            wanted.push(prefix.to_owned());
        }
    }
    let inclusive = options.inclusive_prefixes.iter().map(|p| {
        if p == "#default" {
            String::new()
        } else {
            p.clone()
        }
    });
    for prefix in inclusive {
        // Inclusive prefixes are rendered only where they are in scope.
        if in_scope(node, &prefix).is_some() {
            wanted.push(prefix);
        }
    }
    wanted.sort();
    wanted.dedup();

    let mut now_rendered = rendered.clone();
    let mut declarations: Vec<(String, String)> = Vec::new();
    for prefix in wanted {
        if prefix == "xml" {
            continue;
        }
        let uri = in_scope(node, &prefix).unwrap_or_default();
        if uri == XML_NS {
            continue;
        }
        let before = rendered
            .get(&prefix)
            .map(String::as_str)
            .unwrap_or_default();
        if prefix.is_empty() && uri.is_empty() {
            // `xmlns=""` only undoes a default namespace an output ancestor declared.
            if !before.is_empty() {
                declarations.push((prefix.clone(), String::new()));
                now_rendered.insert(prefix, String::new());
            }
            continue;
        }
        if before != uri {
            declarations.push((prefix.clone(), uri.to_owned()));
            now_rendered.insert(prefix, uri.to_owned());
        }
    }

    out.push('<');
    out.push_str(qname);
    // Sorted by prefix, the default namespace first ("" sorts first).
    for (prefix, uri) in &declarations {
        if prefix.is_empty() {
            out.push_str(" xmlns=\"");
        } else {
            out.push_str(" xmlns:");
            out.push_str(prefix);
            out.push_str("=\"");
        }
        escape_attribute(uri, out);
        out.push('"');
    }
    // Attributes sorted by (namespace URI, local name), unqualified ones first.
    let mut attributes: Vec<_> = node.attributes().collect();
    attributes.sort_by(|a, b| {
        (a.namespace().unwrap_or_default(), a.name())
            .cmp(&(b.namespace().unwrap_or_default(), b.name()))
    });
    for attribute in attributes {
        out.push(' ');
        out.push_str(attribute_qname(node, &attribute));
        out.push_str("=\"");
        escape_attribute(attribute.value(), out);
        out.push('"');
    }
    out.push('>');
    for child in node.children() {
        write_node(child, options, &now_rendered, out);
    }
    out.push_str("</");
    out.push_str(qname);
    out.push('>');
}

fn escape_text(text: &str, out: &mut String) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\r' => out.push_str("&#xD;"),
            c => out.push(c),
        }
    }
}

fn escape_attribute(value: &str, out: &mut String) {
    for c in value.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '"' => out.push_str("&quot;"),
            '\t' => out.push_str("&#x9;"),
            '\n' => out.push_str("&#xA;"),
            '\r' => out.push_str("&#xD;"),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c14n(xml: &str, path: &[usize]) -> String {
        let doc = roxmltree::Document::parse(xml).unwrap();
        let mut node = doc.root_element();
        for &i in path {
            node = node.children().filter(|n| n.is_element()).nth(i).unwrap();
        }
        canonicalize(node, &Options::default())
    }

    #[test]
    fn only_visibly_used_namespaces_are_rendered_where_first_needed() {
        let xml = r#"<a:r xmlns:a="urn:a" xmlns:b="urn:b" xmlns="urn:d"><a:x b:k="1"><y/><a:z/></a:x></a:r>"#;
        assert_eq!(
            c14n(xml, &[0]),
            r#"<a:x xmlns:a="urn:a" xmlns:b="urn:b" b:k="1"><y xmlns="urn:d"></y><a:z></a:z></a:x>"#
        );
    }

    #[test]
    fn attributes_sort_by_namespace_then_name_and_values_are_escaped() {
        let xml = "<r xmlns:z=\"urn:a\" xmlns:a=\"urn:z\" b=\"&quot;x&lt;\" a:n=\"1\" z:n=\"2\" a=\"t&#9;\">x &gt; y &amp;&#13;</r>";
        assert_eq!(
            c14n(xml, &[]),
            "<r xmlns:a=\"urn:z\" xmlns:z=\"urn:a\" a=\"t&#x9;\" b=\"&quot;x&lt;\" z:n=\"2\" a:n=\"1\">x &gt; y &amp;&#xD;</r>"
        );
    }

    #[test]
    fn default_namespace_undeclaration_only_after_a_rendered_default() {
        let xml = r#"<r xmlns="urn:d"><e xmlns=""><f/></e></r>"#;
        assert_eq!(
            c14n(xml, &[]),
            r#"<r xmlns="urn:d"><e xmlns=""><f></f></e></r>"#
        );
        // Apex without a rendered default: no `xmlns=""`.
        assert_eq!(c14n(xml, &[0]), "<e><f></f></e>");
    }
}
