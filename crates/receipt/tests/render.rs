//! Receipts and reports rendered: wrapping, alignment, locale, copies, the drawer kick,
//! refunds and every section of a Z-report.

mod fixtures;

use tillbook_receipt::{escpos, program, text, EscPosOp, Paper, ReceiptKind, ReportKind, DRAWER_KICK};

const WIDTHS: [usize; 2] = [32, 48];

fn lines(s: &str) -> Vec<&str> {
    s.lines().collect()
}

fn count(hay: &[u8], needle: &[u8]) -> usize {
    hay.windows(needle.len()).filter(|w| *w == needle).count()
}

/// `left`, spaces, `right` filling exactly `width` columns.
fn row(left: &str, right: &str, width: usize) -> String {
    let pad = width - left.chars().count() - right.chars().count();
    format!("{left}{}{right}", " ".repeat(pad))
}

#[test]
fn no_line_is_wider_than_the_paper() {
    for width in WIDTHS {
        for doc in [
            text(&fixtures::sale(), width),
            text(&fixtures::card_sale_en(), width),
            text(&fixtures::refund(), width),
            text(&fixtures::z_report(), width),
        ] {
            for l in lines(&doc) {
                assert!(l.chars().count() <= width, "{l:?} is wider than {width}");
            }
        }
    }
}

#[test]
fn long_product_names_wrap_and_keep_the_amount_on_the_right() {
    let mut r = fixtures::sale();
    r.lines[1].name = "Bolo de cenoura com cobertura de chocolate meio amargo e granulado".into();
    for width in WIDTHS {
        let t = text(&r, width);
        let ls = lines(&t);
        let first = ls.iter().position(|l| l.starts_with("Bolo de cenoura")).unwrap();
        let last = ls.iter().position(|l| l.ends_with("R$ 5,50")).unwrap();
        assert!(last > first, "the name wraps over several lines at {width}:\n{t}");
        let words: Vec<&str> = ls[first..=last].iter().flat_map(|l| l.split_whitespace()).collect();
        assert_eq!(
            words.join(" "),
            "Bolo de cenoura com cobertura de chocolate meio amargo e granulado R$ 5,50",
            "no word lost at {width}"
        );
        assert_eq!(ls[last].chars().count(), width, "the amount ends at column {width}");
        assert_eq!(ls[last + 1], "  1 x R$ 6,50");
    }
    // A word longer than the line is cut, never overflows.
    r.lines[1].name = "X".repeat(70);
    for width in WIDTHS {
        assert!(lines(&text(&r, width)).iter().all(|l| l.chars().count() <= width));
    }
}

#[test]
fn amounts_are_right_aligned_at_both_widths() {
    let r = fixtures::sale();
    for width in WIDTHS {
        let t = text(&r, width);
        let ls = lines(&t);
        for (left, right) in [
            ("Cappuccino", "R$ 14,00"),
            ("Subtotal", "R$ 39,00"),
            ("Desconto", "-R$ 2,00"),
            ("TOTAL", "R$ 37,00"),
            ("Dinheiro", "R$ 20,00"),
            ("Cartão ****4242", "R$ 20,00"),
            ("Troco", "R$ 3,00"),
            ("Impostos inclusos", "R$ 5,10"),
            ("  5% sobre R$ 4,97", "R$ 0,25"),
            ("  18% sobre R$ 26,93", "R$ 4,85"),
            ("Recibo", fixtures::REF),
            ("Data", "26/11/2026 14:05"),
        ] {
            assert!(ls.contains(&row(left, right, width).as_str()), "{left} … {right} at {width}:\n{t}");
        }
        assert!(ls.contains(&row("  Desconto", "-R$ 1,00", width).as_str()), "line discount at {width}");
        assert_eq!(ls[4], "-".repeat(width));
        // Headings are centred.
        let title = ls.iter().find(|l| l.trim() == "CUPOM DE VENDA").unwrap();
        let pad = title.len() - title.trim_start().len();
        assert_eq!(pad, (width - "CUPOM DE VENDA".len()) / 2);
    }
}

#[test]
fn labels_money_and_dates_follow_the_locale() {
    let pt = text(&fixtures::sale(), 48);
    for s in ["CUPOM DE VENDA", "Operador Maria", "Subtotal", "Desconto", "Troco", "Dinheiro", "Cartão", "Impostos"] {
        assert!(pt.contains(s), "pt-BR lacks {s}");
    }
    assert!(pt.contains("R$ 37,00") && pt.contains("26/11/2026 14:05") && pt.contains("CNPJ 12.345.678/0001-90"));

    let en = text(&fixtures::card_sale_en(), 48);
    for s in ["SALE RECEIPT", "Cashier Sam", "Subtotal", "TOTAL", "Card ****0005", "11/26/2026 2:05 PM", "$16.24"] {
        assert!(en.contains(s), "en-US lacks {s}:\n{en}");
    }
    assert!(!en.contains("R$") && !en.contains("Troco") && !en.contains("Tax ID"), "{en}");
    // Tax-exclusive prices: taxes come before the total they are added to.
    let ls = lines(&en);
    let taxes = ls.iter().position(|l| *l == row("Taxes", "$1.24", 48)).unwrap();
    let rate = ls.iter().position(|l| *l == row("  8.25% of $15.00", "$1.24", 48)).unwrap();
    let total = ls.iter().position(|l| *l == row("TOTAL", "$16.24", 48)).unwrap();
    assert!(taxes < rate && rate < total);
    // Tax-inclusive: the breakdown follows the total.
    let ls = lines(&pt);
    let total = ls.iter().position(|l| l.starts_with("TOTAL")).unwrap();
    let included = ls.iter().position(|l| l.starts_with("Impostos inclusos")).unwrap();
    assert!(total < included);

    // Another English locale: English words, ISO dates.
    let mut gb = fixtures::card_sale_en();
    gb.locale = "en-GB".into();
    assert!(text(&gb, 48).contains("2026-11-26 14:05"));
}

#[test]
fn a_reprint_is_marked_as_a_copy() {
    let mut r = fixtures::sale();
    assert!(!text(&r, 48).contains("2ª VIA"));
    r.copy = true;
    let t = text(&r, 48);
    assert_eq!(t.matches("*** 2ª VIA ***").count(), 2, "top and bottom:\n{t}");
    let bytes = escpos(&r, Paper::Mm80).unwrap();
    // "2ª VIA" in code page 860: ª is 0xA6.
    assert_eq!(count(&bytes, b"*** 2\xA6 VIA ***"), 2);

    let mut en = fixtures::card_sale_en();
    en.copy = true;
    assert_eq!(text(&en, 32).matches("*** COPY ***").count(), 2);
}

#[test]
fn a_cash_sale_kicks_the_drawer_once_with_the_five_byte_command() {
    for paper in [Paper::Mm58, Paper::Mm80] {
        let bytes = escpos(&fixtures::sale(), paper).unwrap();
        assert_eq!(count(&bytes, &[0x1B, b'p']), 1);
        let at = bytes.windows(2).position(|w| w == [0x1B, b'p']).unwrap();
        assert_eq!(bytes[at..at + 5], DRAWER_KICK);
        assert_eq!(DRAWER_KICK, [0x1B, 0x70, 0x00, 0x32, 0x32]);
        // ESC p m t1 t2: the next command starts right after the two pulse times. With the
        // 3-byte ESC p 0 the bytes at +3 and +4 would be that next command, eaten as timings.
        assert_eq!(bytes[at + 5], 0x1B, "a command must follow the 5-byte kick: {:02x?}", &bytes[at..at + 8]);
        assert!(bytes[at + 3] != 0x1B && bytes[at + 4] != 0x1B, "kick cut short: {:02x?}", &bytes[at..at + 8]);
    }
}

#[test]
fn a_card_only_sale_never_kicks_the_drawer() {
    let r = fixtures::card_sale_en();
    assert!(!r.open_drawer);
    for paper in [Paper::Mm58, Paper::Mm80] {
        assert!(!program(&r, paper).contains(&EscPosOp::DrawerKick));
        let bytes = escpos(&r, paper).unwrap();
        assert_eq!(count(&bytes, &[0x1B, b'p']), 0, "{paper:?}");
    }
}

#[test]
fn a_receipt_prints_bold_totals_a_centred_header_a_qr_and_a_cut() {
    let r = fixtures::sale();
    let ops = program(&r, Paper::Mm80);
    assert_eq!(ops[..2], [EscPosOp::Init, EscPosOp::CodePage]);
    assert_eq!(ops.last(), Some(&EscPosOp::Cut));
    let qr = ops.iter().position(|o| matches!(o, EscPosOp::Qr { data, .. } if data == fixtures::REF)).unwrap();
    let justify = ops[..qr].iter().rev().find(|o| matches!(o, EscPosOp::Justify(_)));
    assert_eq!(justify, Some(&EscPosOp::Justify(tillbook_receipt::Justify::Center)), "the QR is centred");
    let total = ops.iter().position(|o| matches!(o, EscPosOp::Text(t) if t.starts_with("TOTAL "))).unwrap();
    assert_eq!(ops[total - 1], EscPosOp::Bold(true));
    assert_eq!(ops[total + 1], EscPosOp::Bold(false));
    let shop = ops.iter().position(|o| matches!(o, EscPosOp::Text(t) if t == "Padaria Pão Dourado\n")).unwrap();
    assert!(ops[..shop].contains(&EscPosOp::Justify(tillbook_receipt::Justify::Center)));
    assert!(ops[..shop].contains(&EscPosOp::Size { width: 1, height: 2 }));

    let bytes = escpos(&r, Paper::Mm80).unwrap();
    assert!(bytes.starts_with(&[0x1B, b'@', 0x1B, b't', 3]), "init then code page 860");
    assert!(bytes.ends_with(&[0x1B, b'd', 6, 0x1D, b'V', 0]), "feed then full cut");
    let mut qr_data = vec![0x1D, b'(', b'k', (fixtures::REF.len() + 3) as u8, 0, 49, 80, 48];
    qr_data.extend_from_slice(fixtures::REF.as_bytes());
    assert_eq!(count(&bytes, &qr_data), 1, "the QR code stores the order reference");
    assert_eq!(count(&bytes, b"Cart\x84o"), 1, "ã is 0x84 in code page 860");
    assert_eq!(count(&bytes, "ã".as_bytes()), 0, "no UTF-8");
}

#[test]
fn a_refund_receipt_says_what_it_refunds() {
    let r = fixtures::refund();
    assert!(matches!(&r.kind, ReceiptKind::Refund { of_ref } if of_ref == fixtures::REF));
    for width in WIDTHS {
        let t = text(&r, width);
        let ls = lines(&t);
        assert!(ls.iter().any(|l| l.trim() == "COMPROVANTE DE DEVOLUÇÃO"), "{t}");
        assert!(!t.contains("CUPOM DE VENDA"));
        assert!(t.contains("Devolução de") && t.contains(fixtures::REF), "{t}");
        assert!(ls.contains(&row("TOTAL DEVOLVIDO", "R$ 7,00", width).as_str()), "{t}");
        assert!(ls.contains(&row("Recibo", "ORD-20261126-T01-0043", width).as_str()), "{t}");
    }
    let mut en = fixtures::refund();
    en.locale = "en-US".into();
    let t = text(&en, 48);
    assert!(t.contains("REFUND RECEIPT") && t.contains("Refund of") && t.contains("TOTAL REFUNDED"), "{t}");
}

#[test]
fn a_z_report_prints_every_section() {
    let r = fixtures::z_report();
    for width in WIDTHS {
        let t = text(&r, width);
        let ls = lines(&t);
        let has = |l: &str, rt: &str| ls.contains(&row(l, rt, width).as_str());
        for heading in [
            "RELATÓRIO Z",
            "VENDAS",
            "POR FORMA DE PAGAMENTO",
            "POR PRODUTO",
            "POR CATEGORIA",
            "IMPOSTOS POR ALÍQUOTA",
            "DEVOLUÇÕES",
            "CANCELAMENTOS",
            "MOVIMENTOS DE CAIXA",
            "CAIXA",
        ] {
            assert!(ls.iter().any(|l| l.trim() == heading), "{heading} at {width}:\n{t}");
        }
        // Times are local: UTC−3.
        assert!(has("Abertura", "26/11/2026 08:00") && has("Fechamento", "26/11/2026 18:30"), "{t}");
        assert!(has("Pedidos", "2"));
        assert!(t.contains("ORD-20261126-T01-0041") && t.contains("ORD-20261126-T01-0042"));
        assert!(has("Vendas", "R$ 44,00") && has("Descontos", "R$ 3,00"));
        assert!(has("Dinheiro (2)", "R$ 24,00") && has("  Devolvido", "R$ 7,00"));
        assert!(has("Cartão (1)", "R$ 20,00") && has("  Recusados", "1") && has("  Taxas", "R$ 0,40"));
        assert!(has("3 Cappuccino", "R$ 21,00") && has("1 Pão de queijo", "R$ 5,50"));
        assert!(has("1 (sem categoria)", "R$ 5,50") && has("3 Bebidas", "R$ 21,00"));
        assert!(has("5% sobre R$ 12,77", "R$ 0,64") && has("18% sobre R$ 25,93", "R$ 4,66"));
        assert!(has("Total de impostos", "R$ 5,30"));
        assert!(has("Devoluções (1)", "R$ 7,00") && has("Pedidos cancelados (1)", "R$ 6,50"));
        assert!(has("09:15 Suprimento", "R$ 50,00") && has("15:40 Sangria", "R$ 100,00"));
        assert!(t.contains("Troco do cofre (Maria)") && t.contains("Sangria para o banco (Joana)"));
        assert!(has("Fundo de troco", "R$ 100,00") && has("+ Vendas em dinheiro", "R$ 24,00"));
        assert!(has("+ Suprimento", "R$ 50,00") && has("- Sangria", "R$ 100,00"));
        assert!(t.contains("- Devoluções em dinheiro") && t.contains("R$ 7,00"));
        assert!(has("Esperado", "R$ 67,00") && has("Contado", "R$ 66,50") && has("Diferença", "-R$ 0,50"), "{t}");
    }
    let bytes = escpos(&r, Paper::Mm58).unwrap();
    assert_eq!(count(&bytes, &[0x1B, b'p']), 0, "a report never opens the drawer");
    assert!(bytes.ends_with(&[0x1B, b'd', 6, 0x1D, b'V', 0]));
    assert!(!program(&r, Paper::Mm58).iter().any(|o| matches!(o, EscPosOp::Qr { .. })));
}

#[test]
fn an_x_report_of_an_open_shift_has_no_count_and_empty_lists_say_so() {
    let mut r = fixtures::z_report();
    r.kind = ReportKind::X;
    r.locale = "en-US".into();
    let f = &mut r.figures;
    f.closed_at = None;
    f.counted_q = None;
    f.difference_q = None;
    f.tenders.clear();
    f.by_category.clear();
    let t = text(&r, 48);
    assert!(t.contains("X REPORT") && !t.contains("Z REPORT"), "{t}");
    assert!(t.contains("Opened") && !t.contains("Closed"));
    assert!(t.contains(&row("Expected", "R$67.00", 48)), "{t}");
    assert!(!t.contains("Counted") && !t.contains("Difference"));
    assert_eq!(t.matches("(none)").count(), 2, "{t}");
    assert!(t.contains("BY TENDER") && t.contains("BY CATEGORY"));
    assert!(t.contains(&row("9:15 AM Cash in", "R$50.00", 48)), "local times in the locale:\n{t}");
    assert!(t.contains(&row("Opened", "11/26/2026 8:00 AM", 48)), "{t}");
}

#[test]
fn a_cash_surplus_is_signed() {
    let mut r = fixtures::z_report();
    r.figures.counted_q = Some(6800);
    r.figures.difference_q = Some(100);
    assert!(text(&r, 32).contains(&row("Diferença", "+R$ 1,00", 32)));
}

#[test]
fn caller_text_cannot_inject_printer_commands() {
    let mut r = fixtures::card_sale_en();
    r.lines[0].name = "Latte\x1b@\x1dV\x00\n".into();
    r.footer = vec!["\x1bp\x00\x19\x78".into()];
    let bytes = escpos(&r, Paper::Mm80).unwrap();
    assert_eq!(count(&bytes, &[0x1B, b'@']), 1, "only our own init");
    assert_eq!(count(&bytes, &[0x1B, b'p']), 0, "no drawer kick smuggled in");
    assert_eq!(count(&bytes, &[0x1D, b'V']), 1, "only our own cut");
}
