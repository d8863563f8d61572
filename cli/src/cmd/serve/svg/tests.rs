use super::*;

fn bars(groups: Vec<Group>) -> Bars {
    Bars {
        id: "c".into(),
        title: "Title <b>".into(),
        desc: "Desc & more".into(),
        unit: Unit::Cents,
        series: vec![Series::new("a", "A"), Series::new("b", "B <i>")],
        groups,
    }
}

fn no_bad_numbers(svg: &str) {
    for bad in ["NaN", "inf"] {
        assert!(!svg.contains(bad), "{bad} in {svg}");
    }
}

#[test]
fn euros_are_rounded_half_away_from_zero_with_separators() {
    assert_eq!(eur(123_456_700), "EUR 1,234,567");
    assert_eq!(eur(123_456_749), "EUR 1,234,567");
    assert_eq!(eur(123_456_750), "EUR 1,234,568");
    assert_eq!(eur(50), "EUR 1");
    assert_eq!(eur(49), "EUR 0");
    assert_eq!(eur(150), "EUR 2");
    assert_eq!(eur(0), "EUR 0");
    assert_eq!(eur(100_000), "EUR 1,000");
    assert_eq!(group(999), "999");
    assert_eq!(group(1_000), "1,000");
    assert!(eur(u128::MAX).starts_with("EUR 3,402,823"));
}

#[test]
fn short_figures() {
    assert_eq!(Unit::Cents.short(0), "0");
    assert_eq!(Unit::Cents.short(123_456_700), "1.2M");
    assert_eq!(Unit::Cents.short(100_000_000), "1M");
    assert_eq!(Unit::Cents.short(4_500_000), "45k");
    assert_eq!(Unit::Count.short(1_500), "1.5k");
    assert_eq!(Unit::Count.short(7), "7");
    assert_eq!(Unit::Count.full(1_234), "1,234");
}

#[test]
fn escaping() {
    assert_eq!(
        escape(r#"<a href="x" onload='y'>&</a>"#),
        "&lt;a href=&quot;x&quot; onload=&#39;y&#39;&gt;&amp;&lt;/a&gt;"
    );
    assert_eq!(escape("a\u{0}b\nc"), "a\u{FFFD}b\nc");
}

#[test]
fn axes_never_collapse() {
    for (max, unit) in [
        (0, Unit::Cents),
        (1, Unit::Count),
        (7, Unit::Count),
        (123_456_789, Unit::Cents),
        (u128::MAX, Unit::Cents),
    ] {
        let (top, step) = nice(max, unit);
        assert!(
            top >= max && step >= 1 && top >= step,
            "{max}: {top} {step}"
        );
        assert!(ticks(top, step).count() <= 11);
    }
    assert_eq!(nice(123_456_789, Unit::Cents), (125_000_000, 25_000_000));
}

#[test]
fn bars_carry_their_figures_and_are_accessible() {
    let c = bars(vec![
        Group {
            category: "<script>x</script>".into(),
            values: vec![123_456_789, 5],
        },
        Group {
            category: "short".into(),
            values: vec![7],
        },
    ]);
    for svg in [hbar(&c), vbar(&c)] {
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(svg.contains(r#"role="img""#) && svg.contains("viewBox=\"0 0 800 "));
        assert!(svg.contains(
            r#"<title id="c-t">Title &lt;b&gt;</title><desc id="c-d">Desc &amp; more</desc>"#
        ));
        assert!(svg.contains(r#"data-series="a" data-category="&lt;script&gt;x&lt;/script&gt;" data-value="123456789""#));
        assert!(
            svg.contains(r#"data-series="b" data-category="short" data-value="0""#),
            "missing value drawn as zero"
        );
        assert!(!svg.contains("<script>"));
        assert!(
            svg.contains(r#"<g class="legend-item" data-series="b">"#)
                && svg.contains("B &lt;i&gt;")
        );
        assert_eq!(svg.matches(r#"<rect class="bar""#).count(), 4);
        no_bad_numbers(&svg);
    }
}

#[test]
fn empty_and_zero_charts() {
    assert!(hbar(&bars(Vec::new())).contains("No data"));
    assert!(vbar(&bars(Vec::new())).contains("No data"));
    let zeros = bars(vec![Group {
        category: "z".into(),
        values: vec![0, 0],
    }]);
    no_bad_numbers(&hbar(&zeros));
    no_bad_numbers(&vbar(&zeros));
    assert!(funnel("f", "F", "d", &[]).contains("No data"));
    let empty = Lines {
        id: "l".into(),
        title: "L".into(),
        desc: "d".into(),
        unit: Unit::Cents,
        x: Vec::new(),
        series: vec![Series::new("a", "A")],
        values: Vec::new(),
    };
    assert!(line(&empty).contains("No data"));
}

#[test]
fn funnel_stages_and_lines_points() {
    let stages = [("need", 0u128), ("offer", 250)].map(|(k, c)| Stage {
        key: k.into(),
        label: k.into(),
        count: 3,
        cents: c,
    });
    let f = funnel("f", "F", "d", &stages);
    assert!(f.contains(r#"data-stage="offer" data-count="3" data-value="250""#));
    no_bad_numbers(&f);
    let l = Lines {
        id: "l".into(),
        title: "L".into(),
        desc: "d".into(),
        unit: Unit::Cents,
        x: vec!["2026-01".into()],
        series: vec![Series::new("a", "A"), Series::new("b", "B")],
        values: vec![vec![10], vec![]],
    };
    let svg = line(&l);
    assert!(svg.contains(r#"data-series="a" data-x="2026-01" data-value="10""#));
    no_bad_numbers(&svg);
}
