//! An analysis as Markdown: one `##` heading per section, in order, which is also the shape
//! [`super::parse_llm_analysis`] reads back.

use super::report::Analysis;

impl Analysis {
    pub fn to_markdown(&self) -> String {
        let mut out = String::new();
        for section in &self.sections {
            if !out.is_empty() {
                out.push('\n');
            }
            out.push_str("## ");
            out.push_str(&section.title);
            out.push_str("\n\n");
            out.push_str(section.body.trim_end());
            out.push('\n');
        }
        out
    }
}
