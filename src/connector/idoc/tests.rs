use std::io::Write;
use std::time::Instant;

use serde_json::{Value, json};

use super::*;
use crate::connector::Pulled;
use crate::connector::files::tests::{collect, last_cursor, summary, write};

const DEBMAS07: &str = include_str!("testdata/debmas07.xml");
const MATMAS05: &str = include_str!("testdata/matmas05.xml");
const ORDERS05: &str = include_str!("testdata/orders05.xml");
const BOMMAT04: &str = include_str!("testdata/bommat04.xml");

fn connector(dir: &Path, files: &str) -> IdocConnector {
    IdocConnector::new(IdocConfig::new(files), dir)
}

/// Reads one file's content through the driver: its records and its errors.
async fn read(content: &[u8]) -> (Vec<(String, Value)>, Vec<ConnectorError>) {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "in.xml", content);
    let items = collect(connector(dir.path(), "*.xml").pull(None)).await;
    let mut records = Vec::new();
    let mut errors = Vec::new();
    for item in items {
        match item {
            Ok(Pulled::Record(r)) => records.push((r.origin, r.payload)),
            Ok(Pulled::Checkpoint(_) | Pulled::KeyScan(_)) => {}
            Err(e) => errors.push(e),
        }
    }
    (records, errors)
}

async fn read_ok(content: &str) -> Vec<(String, Value)> {
    let (records, errors) = read(content.as_bytes()).await;
    assert!(errors.is_empty(), "{errors:?}");
    records
}

#[tokio::test]
async fn debmas_yields_one_record_per_idoc_with_control_record_and_segments() {
    let records = read_ok(DEBMAS07).await;
    assert_eq!(records.len(), 2);
    let (origin, first) = &records[0];
    assert_eq!(origin, "in.xml#1");
    assert_eq!(first["@BEGIN"], "1");
    let control = &first["EDI_DC40"];
    assert_eq!(control["@SEGMENT"], "1");
    assert_eq!(control["TABNAM"], "EDI_DC40  ", "padding kept");
    assert_eq!(control["DOCNUM"], "0000000000471101");
    assert_eq!(control["IDOCTYP"], "DEBMAS07");
    assert_eq!(control["MESTYP"], "DEBMAS");
    assert_eq!(control["SNDPRT"], "LS");
    let customer = &first["E1KNA1M"];
    assert_eq!(customer["KUNNR"], "0000100042");
    assert_eq!(customer["MSGFN"], "005");
    assert_eq!(customer["NAME1"], "Müller & Söhne GmbH     ");
    assert_eq!(customer["E1KNB1M"]["DATLZ"], "00000000");
    assert_eq!(customer["E1KNVVM"]["VKORG"], "1000");
    let (origin, second) = &records[1];
    assert_eq!(origin, "in.xml#2");
    assert_eq!(second["E1KNA1M"]["MSGFN"], "003");
    assert_eq!(second["E1KNA1M"]["KUNNR"], "0000100077");
}

#[tokio::test]
async fn matmas_keeps_repeated_texts_as_an_array() {
    let records = read_ok(MATMAS05).await;
    assert_eq!(records.len(), 1);
    let material = &records[0].1["E1MARAM"];
    assert_eq!(material["MATNR"], "000000000000004711");
    assert_eq!(material["MSGFN"], "004");
    assert_eq!(material["MEINS"], "ST");
    assert_eq!(material["EAN11"], "4006381333931");
    assert_eq!(
        material["E1MAKTM"],
        json!([
            {"@SEGMENT": "1", "MSGFN": "004", "SPRAS": "D", "MAKTX": "Pumpe PX-100 Edelstahl", "SPRAS_ISO": "DE"},
            {"@SEGMENT": "1", "MSGFN": "004", "SPRAS": "E", "MAKTX": "Pump PX-100 stainless", "SPRAS_ISO": "EN"}
        ])
    );
    assert_eq!(material["E1MARCM"]["WERKS"], "1000");
}

#[tokio::test]
async fn orders_items_and_partners_are_arrays_in_document_order() {
    let records = read_ok(ORDERS05).await;
    assert_eq!(records.len(), 1);
    let order = &records[0].1;
    assert_eq!(order["EDI_DC40"]["MESTYP"], "ORDERS");
    assert_eq!(order["E1EDK01"]["BELNR"], "0004500017");
    let partners = order["E1EDKA1"].as_array().unwrap();
    assert_eq!(partners.len(), 2);
    assert_eq!(partners[0]["PARVW"], "AG");
    assert_eq!(partners[0]["NAME1"], "Müller & Söhne GmbH");
    assert_eq!(partners[1]["PARVW"], "WE");
    let items = order["E1EDP01"].as_array().unwrap();
    let positions: Vec<_> = items.iter().map(|i| i["POSEX"].clone()).collect();
    assert_eq!(positions, ["000010", "000020", "000030"]);
    assert_eq!(items[1]["E1EDP19"]["IDTNR"], "000000000000004712");
    assert_eq!(items[1]["MENGE"], "12.000");
    assert_eq!(order["E1EDK03"][1]["DATUM"], "00000000");
    assert_eq!(order["E1EDS01"]["SUMME"], "848.50");
}

#[tokio::test]
async fn bommat_nests_header_and_items_under_e1stzum() {
    let records = read_ok(BOMMAT04).await;
    let bom = &records[0].1["E1STZUM"];
    assert_eq!(bom["MSGFN"], "009");
    assert_eq!(bom["E1MASTM"]["MATNR"], "000000000000004711");
    assert_eq!(bom["E1STKOM"]["BMENG"], "1.000");
    let items = bom["E1STPOM"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[1]["IDNRK"], "000000000000004720");
    assert_eq!(items[1]["MEINS"], "KGM");
}

#[tokio::test]
async fn an_extension_root_is_accepted() {
    let xml = DEBMAS07
        .replace("<DEBMAS07>", "<_-ACME_-DEBMAS07EXT>")
        .replace("</DEBMAS07>", "</_-ACME_-DEBMAS07EXT>")
        .replace(
            "</E1KNA1M>",
            "<_-ACME_-E1KNA1X SEGMENT=\"1\"><ZZTIER>GOLD</ZZTIER></_-ACME_-E1KNA1X></E1KNA1M>",
        );
    let records = read_ok(&xml).await;
    assert_eq!(records.len(), 2);
    assert_eq!(records[0].1["E1KNA1M"]["_-ACME_-E1KNA1X"]["ZZTIER"], "GOLD");
}

#[tokio::test]
async fn a_truncated_file_yields_the_idocs_before_the_fault_then_the_offset() {
    let cut = DEBMAS07.find("<MSGFN>003</MSGFN>").unwrap() + "<MSGFN>003</MSGFN>".len();
    let (records, errors) = read(&DEBMAS07.as_bytes()[..cut]).await;
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].0, "in.xml#1");
    assert_eq!(errors.len(), 1);
    match &errors[0] {
        ConnectorError::Malformed {
            path,
            offset,
            message,
        } => {
            assert!(path.ends_with("in.xml"));
            assert_eq!(*offset, cut as u64);
            assert!(message.contains("ends inside IDoc #2"), "{message}");
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[tokio::test]
async fn a_file_cut_inside_a_tag_reports_where_the_tag_starts() {
    let cut = DEBMAS07.find("<NAME1>Alpen").unwrap() + 4;
    let (records, errors) = read(&DEBMAS07.as_bytes()[..cut]).await;
    assert_eq!(records.len(), 1);
    assert!(
        matches!(&errors[0], ConnectorError::Malformed { offset, .. } if *offset == (cut - 4) as u64),
        "{errors:?}"
    );
}

#[tokio::test]
async fn a_truncated_file_stays_out_of_the_cursor_and_the_next_file_is_read() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "a.xml",
        b"<DEBMAS07><IDOC BEGIN=\"1\"><EDI_DC40><DOCNUM>1</DOCNUM></EDI_DC40><X>1</X>",
    );
    write(dir.path(), "b.xml", MATMAS05.as_bytes());
    let items = collect(connector(dir.path(), "*.xml").pull(None)).await;
    let summary = summary(&items);
    assert!(
        summary[0].starts_with("error: ") && summary[0].contains("a.xml"),
        "{summary:?}"
    );
    assert!(summary[1].starts_with("b.xml#1 "));
    let cursor = last_cursor(&items).unwrap();
    let names: Vec<_> = cursor.0["files"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    assert_eq!(names, ["b.xml"]);
}

/// `count` DEBMAS IDocs numbered 1.., each with its own DOCNUM and customer number.
fn debmas_idocs(count: usize) -> Vec<String> {
    let start = DEBMAS07.find("<IDOC").unwrap();
    let end = DEBMAS07[start..].find("</IDOC>").unwrap() + start + "</IDOC>".len();
    let template = &DEBMAS07[start..end];
    (1..=count)
        .map(|n| {
            template
                .replace("0000000000471101", &format!("{:016}", 900_000 + n))
                .replace("0000100042", &format!("{:010}", 200_000 + n))
        })
        .collect()
}

fn debmas_file(idocs: &[String]) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<DEBMAS07>\n{}\n</DEBMAS07>\n",
        idocs.join("\n")
    )
}

/// Turns a good IDoc's text into a broken one.
type Breakage = fn(&str) -> Vec<u8>;

/// IDoc 57 of 99 broken three ways: each time the 98 others are read, and the broken one is
/// reported with its number, DOCNUM and byte offset; the file counts as read.
#[tokio::test]
async fn a_malformed_idoc_is_reported_and_reading_resumes_at_the_next() {
    let breakages: [(&str, Breakage, &str); 3] = [
        (
            "mismatched end tag",
            |idoc| idoc.replace("</ORT01>", "</ORT02>").into_bytes(),
            "end tag </ORT02> where </ORT01> was expected",
        ),
        (
            "invalid UTF-8",
            |idoc| {
                let mut bytes = idoc.as_bytes().to_vec();
                let at = idoc.find("München").unwrap() + 1;
                bytes.splice(at..at + 2, [0xfc]);
                bytes
            },
            "IDoc #57",
        ),
        (
            "nesting past the limit",
            |idoc| {
                let deep = "<Z>".repeat(300) + &"</Z>".repeat(300);
                idoc.replace("<SPRAS>D</SPRAS>", &deep).into_bytes()
            },
            "nested deeper",
        ),
    ];
    for (what, break_it, expected) in breakages {
        let idocs = debmas_idocs(99);
        let mut bytes = Vec::new();
        let file = debmas_file(&idocs);
        let broken_at = file.find(&idocs[56]).unwrap();
        bytes.extend_from_slice(&file.as_bytes()[..broken_at]);
        bytes.extend_from_slice(&break_it(&idocs[56]));
        bytes.extend_from_slice(&file.as_bytes()[broken_at + idocs[56].len()..]);

        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "in.xml", &bytes);
        let items = collect(connector(dir.path(), "*.xml").pull(None)).await;
        let mut records = Vec::new();
        let mut errors = Vec::new();
        for item in &items {
            match item {
                Ok(Pulled::Record(r)) => records.push(r.origin.clone()),
                Ok(Pulled::Checkpoint(_) | Pulled::KeyScan(_)) => {}
                Err(e) => errors.push(e),
            }
        }
        assert_eq!(records.len(), 98, "{what}: {errors:?}");
        assert_eq!(records[55], "in.xml#56", "{what}");
        assert_eq!(records[56], "in.xml#58", "{what}");
        assert_eq!(errors.len(), 1, "{what}: {errors:?}");
        match errors[0] {
            ConnectorError::BadRecord {
                origin,
                offset,
                key,
                message,
                ..
            } => {
                assert_eq!(origin, "in.xml#57", "{what}");
                assert_eq!(key.as_deref(), Some("DOCNUM 0000000000900057"), "{what}");
                assert!(
                    *offset > broken_at as u64
                        && *offset < (broken_at + idocs[56].len() + 2000) as u64,
                    "{what}: offset {offset}, IDoc at {broken_at}"
                );
                assert!(message.contains(expected), "{what}: {message}");
                assert_eq!(
                    errors[0].record_key().as_deref(),
                    Some("DOCNUM 0000000000900057")
                );
            }
            other => panic!("{what}: unexpected {other:?}"),
        }
        let cursor = last_cursor(&items).expect("the file counts as read");
        assert!(cursor.0["files"].get("in.xml").is_some(), "{what}");
    }
}

#[tokio::test]
async fn namespaced_idocs_read_like_plain_ones() {
    let plain = read_ok(DEBMAS07).await;
    let namespaced = DEBMAS07
        .replace(
            "<DEBMAS07>",
            "<ns0:DEBMAS07 xmlns:ns0=\"urn:sap-com:document:sap:idoc:messages\">",
        )
        .replace("</DEBMAS07>", "</ns0:DEBMAS07>");
    assert_eq!(read_ok(&namespaced).await, plain);
    // Every element prefixed, as some PI mappings write it.
    let mut all_prefixed = String::new();
    let mut rest = namespaced.as_str();
    while let Some(at) = rest.find('<') {
        all_prefixed.push_str(&rest[..=at]);
        rest = &rest[at + 1..];
        let qualify = rest.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
            && !rest.starts_with("ns0:");
        let qualify_end = rest.starts_with('/') && !rest.starts_with("/ns0:");
        if qualify {
            all_prefixed.push_str("ns0:");
        } else if qualify_end {
            all_prefixed.push_str("/ns0:");
            rest = &rest[1..];
        }
    }
    all_prefixed.push_str(rest);
    assert!(
        all_prefixed.contains("<ns0:IDOC BEGIN=\"1\">"),
        "{all_prefixed}"
    );
    assert_eq!(read_ok(&all_prefixed).await, plain);
}

#[tokio::test]
async fn a_file_without_any_idoc_is_an_error_naming_it() {
    let (records, errors) = read(b"<?xml version=\"1.0\"?>\n<DEBMAS07>\n</DEBMAS07>\n").await;
    assert!(records.is_empty());
    assert!(
        matches!(&errors[0], ConnectorError::Malformed { path, message, .. }
            if path.ends_with("in.xml") && message.contains("no <IDOC> element")),
        "{errors:?}"
    );
}

#[tokio::test]
async fn an_idoc_without_control_record_is_quarantined_with_its_content() {
    let idocs = debmas_idocs(3);
    let start = idocs[1].find("<EDI_DC40").unwrap();
    let end = idocs[1].find("</EDI_DC40>").unwrap() + "</EDI_DC40>".len();
    let without = format!("{}{}", &idocs[1][..start], &idocs[1][end..]);
    let file = debmas_file(&[idocs[0].clone(), without, idocs[2].clone()]);
    let (records, mut errors) = read(file.as_bytes()).await;
    assert_eq!(records.len(), 2);
    assert_eq!(errors.len(), 1);
    assert!(
        errors[0].to_string().contains("in.xml#2")
            && errors[0].to_string().contains("no control record EDI_DC40"),
        "{}",
        errors[0]
    );
    assert_eq!(
        errors[0].take_payload()["E1KNA1M"]["KUNNR"],
        "0000200002",
        "the IDoc is kept in the quarantine"
    );
}

#[tokio::test]
async fn a_docnum_read_again_with_other_content_is_flagged_across_files() {
    let dir = tempfile::tempdir().unwrap();
    let idocs = debmas_idocs(2);
    write(dir.path(), "a.xml", debmas_file(&idocs).as_bytes());
    let changed = idocs[1].replace("Marienplatz 1", "Marienplatz 2");
    write(
        dir.path(),
        "b.xml",
        debmas_file(&[idocs[0].clone(), changed]).as_bytes(),
    );
    let items = collect(connector(dir.path(), "*.xml").pull(None)).await;
    let rows = summary(&items);
    let errors: Vec<_> = rows.iter().filter(|r| r.starts_with("error")).collect();
    assert_eq!(errors.len(), 1, "{rows:?}");
    assert!(
        errors[0].contains("b.xml#2")
            && errors[0].contains("DOCNUM 0000000000900002 was already read from a.xml#2"),
        "{errors:?}"
    );
    let records = rows
        .iter()
        .filter(|r| !r.starts_with("error") && r.contains(".xml#"))
        .count();
    assert_eq!(
        records,
        4 - 1,
        "the unchanged resend goes on; the store's hash drops it"
    );
}

#[tokio::test]
async fn an_idoc_over_the_size_limit_is_quarantined_with_its_size() {
    let dir = tempfile::tempdir().unwrap();
    let mut idocs = debmas_idocs(3);
    idocs[1] = idocs[1].replace(
        "<SPRAS>D</SPRAS>",
        &"<E1KNVKM SEGMENT=\"1\"><NAME1>Ansprechpartner</NAME1></E1KNVKM>".repeat(200),
    );
    write(dir.path(), "in.xml", debmas_file(&idocs).as_bytes());
    let config = IdocConfig {
        max_record_size: 4096,
        ..IdocConfig::new("*.xml")
    };
    let items = collect(IdocConnector::new(config, dir.path()).pull(None)).await;
    let rows = summary(&items);
    assert_eq!(
        rows.iter().filter(|r| r.starts_with("in.xml#")).count(),
        2,
        "{rows:?}"
    );
    let error = rows.iter().find(|r| r.starts_with("error")).unwrap();
    assert!(
        error.contains("in.xml#2") && error.contains("larger than max_record_size"),
        "{error}"
    );
    assert!(rows.iter().any(|r| r.starts_with("in.xml#3 ")));
}

#[tokio::test]
async fn iso_8859_1_from_the_declaration_is_decoded() {
    let mut xml = b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n<DEBMAS07><IDOC BEGIN=\"1\"><EDI_DC40><DOCNUM>7</DOCNUM></EDI_DC40><E1KNA1M SEGMENT=\"1\"><NAME1>".to_vec();
    xml.extend_from_slice(b"B\xe4ckerei Gr\xfcn &amp; S\xf6hne");
    xml.extend_from_slice(b"</NAME1><ORT01>K\xf6ln</ORT01></E1KNA1M></IDOC></DEBMAS07>");
    let (records, errors) = read(&xml).await;
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(records[0].1["E1KNA1M"]["NAME1"], "Bäckerei Grün & Söhne");
    assert_eq!(records[0].1["E1KNA1M"]["ORT01"], "Köln");
}

#[tokio::test]
async fn latin1_bytes_in_a_file_declared_utf8_are_an_error() {
    let xml = b"<?xml version=\"1.0\"?><R><IDOC><N>K\xf6ln</N></IDOC></R>";
    let (records, errors) = read(xml).await;
    assert!(records.is_empty());
    assert!(
        matches!(&errors[0], ConnectorError::BadRecord { origin, .. } if origin == "in.xml#1"),
        "{errors:?}"
    );
}

#[tokio::test]
async fn an_unknown_encoding_is_refused() {
    let xml = b"<?xml version=\"1.0\" encoding=\"EBCDIC-FANTASY\"?><R/>";
    let (_, errors) = read(xml).await;
    assert!(
        matches!(&errors[0], ConnectorError::Malformed { message, .. } if message.contains("EBCDIC-FANTASY")),
        "{errors:?}"
    );
}

#[tokio::test]
async fn a_doctype_is_skipped_and_its_entities_are_never_expanded() {
    let xml = r#"<?xml version="1.0"?>
<!DOCTYPE DEBMAS07 [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<DEBMAS07><IDOC BEGIN="1"><EDI_DC40><DOCNUM>1</DOCNUM></EDI_DC40><N>ok</N></IDOC>
<IDOC BEGIN="1"><EDI_DC40><DOCNUM>2</DOCNUM></EDI_DC40><N>&xxe;</N></IDOC></DEBMAS07>"#;
    let (records, errors) = read(xml.as_bytes()).await;
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].1["N"], "ok");
    assert!(
        matches!(&errors[0], ConnectorError::BadRecord { message, .. } if message.contains("xxe")),
        "{errors:?}"
    );
}

#[tokio::test]
async fn an_empty_file_is_malformed() {
    let (records, errors) = read(b"").await;
    assert!(records.is_empty());
    assert!(matches!(
        &errors[0],
        ConnectorError::Malformed { offset: 0, .. }
    ));
}

/// Markup inside an IDoc that spells `</IDOC>` or `<IDOC>` without being one, right under the
/// IDoc where a real `</IDOC>` would end it: the IDoc is cut where its own end tag is, and every
/// field keeps its text.
#[tokio::test]
async fn idoc_tags_in_comments_cdata_attributes_and_instructions_are_not_idoc_boundaries() {
    let idocs = debmas_idocs(3);
    let tricky = idocs[1]
        .replace(
            "<EDI_DC40",
            "<!-- </IDOC> --><?sap </IDOC> ?><![CDATA[</IDOC>]]><NOTE x=\"/>\" y='</IDOC>'>n</NOTE><EDI_DC40",
        )
        .replace(
            "<ORT01>München</ORT01>",
            "<ORT01>München</ORT01><ns0:IDOC>inner</ns0:IDOC>",
        );
    let file = debmas_file(&[idocs[0].clone(), tricky, idocs[2].clone()]);
    let records = read_ok(&file).await;
    let origins: Vec<_> = records.iter().map(|(origin, _)| origin.as_str()).collect();
    assert_eq!(origins, ["in.xml#1", "in.xml#2", "in.xml#3"]);
    let idoc = &records[1].1;
    assert_eq!(idoc["#text"].as_str().map(str::trim), Some("</IDOC>"));
    assert_eq!(idoc["EDI_DC40"]["DOCNUM"], "0000000000900002");
    assert_eq!(
        idoc["NOTE"],
        json!({"@x": "/>", "@y": "</IDOC>", "#text": "n"})
    );
    let customer = &idoc["E1KNA1M"];
    assert_eq!(customer["ORT01"], "München");
    assert_eq!(
        customer["IDOC"], "inner",
        "a nested IDOC element is a field"
    );
    assert_eq!(records[2].1["E1KNA1M"]["KUNNR"], "0000200003");
}

/// Thousands of IDocs: they cross the file's read buffers and the workers' batches, and come
/// out in file order with their own content.
#[tokio::test]
async fn idocs_across_read_buffers_and_batches_keep_file_order() {
    let idocs = debmas_idocs(2_000);
    let file = debmas_file(&idocs);
    assert!(file.len() > 4 * READ_BUFFER, "{} bytes", file.len());
    let records = read_ok(&file).await;
    assert_eq!(records.len(), 2_000);
    for (n, (origin, idoc)) in (1..).zip(&records) {
        assert_eq!(origin, &format!("in.xml#{n}"));
        assert_eq!(idoc["E1KNA1M"]["KUNNR"], format!("{:010}", 200_000 + n));
    }
}

/// An IDoc missing an end tag cannot be cut (its depth never falls back to zero at an
/// `</IDOC>`): it is parsed where it stands, reported with its fault, and the IDocs after it
/// are read, as many as there are.
#[tokio::test]
async fn an_idoc_missing_an_end_tag_costs_only_itself() {
    let mut idocs = debmas_idocs(300);
    idocs[1] = idocs[1].replace("</ORT01>", "");
    let (records, errors) = read(debmas_file(&idocs).as_bytes()).await;
    assert_eq!(records.len(), 299, "{errors:?}");
    assert_eq!(records[1].0, "in.xml#3");
    assert_eq!(records[298].0, "in.xml#300");
    assert_eq!(errors.len(), 1, "{errors:?}");
    let message = errors[0].to_string();
    assert!(
        message.contains("in.xml#2") && message.contains("where </ORT01> was expected"),
        "{message}"
    );
    assert_eq!(
        errors[0].record_key().as_deref(),
        Some("DOCNUM 0000000000900002")
    );
}

/// A file cut off right after an IDoc's end tag: its IDocs are read, then the truncation is an
/// error.
#[tokio::test]
async fn a_file_cut_after_an_idoc_reads_it_then_reports_the_cut() {
    let idocs = debmas_idocs(2);
    let file = debmas_file(&idocs);
    let cut = file.find("</IDOC>").unwrap() + "</IDOC>".len();
    let (records, errors) = read(&file.as_bytes()[..cut]).await;
    assert_eq!(records.len(), 1);
    assert!(
        matches!(&errors[..], [ConnectorError::Malformed { message, .. }] if message.contains("root element is closed")),
        "{errors:?}"
    );
}

/// Writes ~100 MB of DEBMAS IDocs and reads them through the driver. Run with
/// `cargo test --release --lib connector::idoc -- --ignored --nocapture`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn throughput_of_100_mb_of_debmas() {
    let dir = tempfile::tempdir().unwrap();
    let (header, rest) = DEBMAS07.split_at(DEBMAS07.find("<IDOC").unwrap());
    let idocs = &rest[..rest.rfind("</DEBMAS07>").unwrap()];
    let mut out =
        std::io::BufWriter::new(std::fs::File::create(dir.path().join("big.xml")).unwrap());
    out.write_all(header.as_bytes()).unwrap();
    let mut written = header.len();
    let mut copies = 0;
    while written < 100 * 1024 * 1024 {
        out.write_all(idocs.as_bytes()).unwrap();
        written += idocs.len();
        copies += 1;
    }
    out.write_all(b"</DEBMAS07>\n").unwrap();
    out.flush().unwrap();
    drop(out);

    let started = Instant::now();
    let mut stream = connector(dir.path(), "big.xml").pull(None);
    let mut records = 0;
    while let Some(item) = futures::StreamExt::next(&mut stream).await {
        if let Pulled::Record(_) = item.unwrap() {
            records += 1;
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    assert_eq!(records, copies * 2);
    println!(
        "idoc: {records} IDocs, {:.1} MB in {seconds:.2} s = {:.1} MB/s",
        written as f64 / 1e6,
        written as f64 / 1e6 / seconds
    );
}
