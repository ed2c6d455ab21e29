//! A small, dependency-free BM25 ranker for the knowledge-base assistant.
//!
//! Knowledge bases are tiny (tens to a few hundred entries), so a plain
//! in-memory index rebuilt at startup is simpler and more predictable than an
//! external search engine, and it keeps the scoring fully explainable: every
//! score can be recomputed by hand from [`Bm25Index::idf`] and the term counts.
//!
//! # Scoring
//!
//! Classic Okapi BM25 with the Lucene-style, always-positive IDF
//! `ln(1 + (N − df + 0.5) / (df + 0.5))`, defaults `k1 = 1.2`, `b = 0.75`.
//! Documents may consist of several *weighted fields* (BM25F-style, simplified):
//! a term occurrence in a field of weight `w` counts `w` towards the term
//! frequency and towards the document length. This lets the assistant rank a
//! hit in an entry's question far above an incidental mention in its answer,
//! without ignoring answers completely.
//!
//! Repeated query terms are counted once: a customer typing "shipping shipping"
//! means nothing more than "shipping".

use std::collections::{HashMap, HashSet};

pub use crate::domain::terms::{stem, tokenize, STOPWORDS};

/// BM25 tuning parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bm25Params {
    /// Term-frequency saturation: how quickly repeated terms stop adding score.
    pub k1: f64,
    /// Length normalisation: 0 ignores document length, 1 fully normalises.
    pub b: f64,
}

impl Default for Bm25Params {
    /// The textbook values, which work well for short FAQ-style documents.
    fn default() -> Self {
        Self { k1: 1.2, b: 0.75 }
    }
}

#[derive(Debug, Clone)]
struct Doc {
    /// Weighted term frequency (sum of field weights over occurrences).
    tf: HashMap<String, f64>,
    /// Weighted length (sum of field weights over all tokens).
    len: f64,
}

/// An in-memory BM25 index over a fixed set of documents, addressed by their
/// position in the slice they were built from.
#[derive(Debug, Clone)]
pub struct Bm25Index {
    docs: Vec<Doc>,
    /// Number of documents containing each term (in any weighted field).
    df: HashMap<String, usize>,
    avg_len: f64,
    params: Bm25Params,
}

impl Bm25Index {
    /// Indexes plain documents, each a single field of weight 1.
    pub fn build(docs: &[String]) -> Self {
        let fielded: Vec<Vec<(&str, f64)>> =
            docs.iter().map(|doc| vec![(doc.as_str(), 1.0)]).collect();
        Self::build_weighted(&fielded)
    }

    /// Indexes documents made of `(text, weight)` fields.
    ///
    /// Fields with a weight that is not a positive finite number are skipped,
    /// so a zero weight is a way to keep text out of the index entirely.
    pub fn build_weighted<S: AsRef<str>>(docs: &[Vec<(S, f64)>]) -> Self {
        let mut df: HashMap<String, usize> = HashMap::new();
        let mut indexed = Vec::with_capacity(docs.len());
        for fields in docs {
            let mut tf: HashMap<String, f64> = HashMap::new();
            let mut len = 0.0;
            for (text, weight) in fields {
                let weight = *weight;
                if !(weight.is_finite() && weight > 0.0) {
                    continue;
                }
                for term in tokenize(text.as_ref()) {
                    *tf.entry(term).or_insert(0.0) += weight;
                    len += weight;
                }
            }
            for term in tf.keys() {
                *df.entry(term.clone()).or_insert(0) += 1;
            }
            indexed.push(Doc { tf, len });
        }
        let avg_len = if indexed.is_empty() {
            0.0
        } else {
            indexed.iter().map(|d| d.len).sum::<f64>() / indexed.len() as f64
        };
        Self {
            docs: indexed,
            df,
            avg_len,
            params: Bm25Params::default(),
        }
    }

    /// Replaces the scoring parameters (the index itself does not depend on them).
    pub fn with_params(mut self, params: Bm25Params) -> Self {
        self.params = params;
        self
    }

    /// The scoring parameters in use.
    pub fn params(&self) -> Bm25Params {
        self.params
    }

    /// Number of indexed documents.
    pub fn len(&self) -> usize {
        self.docs.len()
    }

    /// Whether the index holds no documents.
    pub fn is_empty(&self) -> bool {
        self.docs.is_empty()
    }

    /// Inverse document frequency of an already-tokenized term, or `None` when
    /// no document contains it (an "unknown" term).
    pub fn idf(&self, term: &str) -> Option<f64> {
        let df = *self.df.get(term)? as f64;
        let n = self.docs.len() as f64;
        Some((1.0 + (n - df + 0.5) / (df + 0.5)).ln())
    }

    /// Documents with a positive score for `query`, best first; ties keep
    /// document order so results are deterministic.
    pub fn search(&self, query: &str) -> Vec<(usize, f64)> {
        let terms = query_terms(query);
        let mut hits: Vec<(usize, f64)> = (0..self.docs.len())
            .map(|doc| (doc, self.score_terms(&terms, doc)))
            .filter(|(_, score)| *score > 0.0)
            .collect();
        hits.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        hits
    }

    /// BM25 score of one document for `query` (0 for an out-of-range document).
    pub fn score(&self, query: &str, doc: usize) -> f64 {
        self.score_terms(&query_terms(query), doc)
    }

    /// Share of the query's *known* terms, weighted by IDF, that `doc` contains.
    ///
    /// Unknown terms (in no document) are left out of both sides: they cannot
    /// tell entries apart, and counting them would punish harmless extra words
    /// ("can I return my *shoes*?"). Returns 0 when the query has no known
    /// terms, so such a query can never clear a coverage threshold.
    pub fn coverage(&self, query: &str, doc: usize) -> f64 {
        let Some(d) = self.docs.get(doc) else {
            return 0.0;
        };
        let mut known = 0.0;
        let mut covered = 0.0;
        for term in query_terms(query) {
            if let Some(idf) = self.idf(&term) {
                known += idf;
                if d.tf.contains_key(&term) {
                    covered += idf;
                }
            }
        }
        if known > 0.0 {
            covered / known
        } else {
            0.0
        }
    }

    /// Share of the query's distinct *words* that occur in at least one
    /// document, in any field; 0 when the query has no words.
    ///
    /// Numbers are left out of both sides: an order number, a price or a date
    /// says nothing about whether the message is in the documents' language
    /// or domain. Unlike [`Bm25Index::coverage`], every word counts the same:
    /// an unknown word has no IDF, and the question here is only how much of
    /// the message the index has any vocabulary for.
    pub fn known_share(&self, query: &str) -> f64 {
        let words: Vec<String> = query_terms(query)
            .into_iter()
            .filter(|term| !term.chars().all(char::is_numeric))
            .collect();
        if words.is_empty() {
            return 0.0;
        }
        let known = words.iter().filter(|w| self.df.contains_key(*w)).count();
        known as f64 / words.len() as f64
    }

    fn score_terms(&self, terms: &[String], doc: usize) -> f64 {
        let Some(d) = self.docs.get(doc) else {
            return 0.0;
        };
        let Bm25Params { k1, b } = self.params;
        let len_ratio = if self.avg_len > 0.0 {
            d.len / self.avg_len
        } else {
            0.0
        };
        terms
            .iter()
            .filter_map(|term| {
                let tf = *d.tf.get(term)?;
                let idf = self.idf(term)?;
                Some(idf * tf * (k1 + 1.0) / (tf + k1 * (1.0 - b + b * len_ratio)))
            })
            .sum()
    }
}

/// Query terms, deduplicated in first-seen order.
fn query_terms(query: &str) -> Vec<String> {
    let mut seen = HashSet::new();
    tokenize(query)
        .into_iter()
        .filter(|term| seen.insert(term.clone()))
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)] // a failed unwrap is a failed test
mod tests {
    use super::*;

    fn strings(docs: &[&str]) -> Vec<String> {
        docs.iter().map(|d| d.to_string()).collect()
    }

    #[test]
    fn idf_is_higher_for_rarer_terms_and_none_for_unknown() {
        let index = Bm25Index::build(&strings(&["lemon banana", "lemon cherry", "lemon"]));
        let common = index.idf("lemon").unwrap_or(f64::NAN);
        let rare = index.idf("banana").unwrap_or(f64::NAN);
        assert!(common > 0.0, "Lucene-style IDF stays positive");
        assert!(rare > common);
        assert_eq!(index.idf("durian"), None);
    }

    #[test]
    fn search_ranks_best_first() {
        let index = Bm25Index::build(&strings(&[
            "opening hours of the store",
            "shipping costs and shipping times",
            "returns and refunds",
            "shipping to other countries",
        ]));
        let hits = index.search("shipping times");
        let order: Vec<usize> = hits.iter().map(|(doc, _)| *doc).collect();
        assert_eq!(order, vec![1, 3]);
        assert!(hits[0].1 > hits[1].1);

        let hits = index.search("refund");
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].0, 2);
    }

    #[test]
    fn search_with_nothing_known_is_empty() {
        let index = Bm25Index::build(&strings(&["opening hours", "shipping"]));
        assert!(index.search("xyzzy plugh").is_empty());
        assert!(index.search("").is_empty());
        assert!(index.search("   the of and  ").is_empty());
    }

    #[test]
    fn shorter_documents_win_ties_on_term_frequency() {
        let index = Bm25Index::build(&strings(&[
            "refund policy explained in great detail with many extra words",
            "refund policy",
        ]));
        let hits = index.search("refund");
        assert_eq!(hits[0].0, 1);
    }

    #[test]
    fn equal_scores_keep_document_order() {
        let index = Bm25Index::build(&strings(&["refund", "refund", "other"]));
        let hits = index.search("refund");
        assert_eq!(hits.len(), 2);
        assert_eq!((hits[0].0, hits[1].0), (0, 1));
        assert_eq!(hits[0].1, hits[1].1);
    }

    #[test]
    fn repeated_query_terms_count_once() {
        let index = Bm25Index::build(&strings(&["refund policy", "shipping policy"]));
        assert_eq!(
            index.score("refund refund refund", 0),
            index.score("refund", 0)
        );
    }

    #[test]
    fn weighted_fields_prefer_heavier_fields() {
        let docs = vec![
            vec![("returns", 1.0), ("we also sell gift cards", 0.3)],
            vec![("gift cards", 1.0), ("returns are free", 0.3)],
        ];
        let index = Bm25Index::build_weighted(&docs);
        assert_eq!(index.search("returns")[0].0, 0);
        assert_eq!(index.search("gift cards")[0].0, 1);
        // A term only present in a light field still counts as contained.
        assert!(index.coverage("returns", 1) > 0.99);
    }

    #[test]
    fn non_positive_weights_are_not_indexed() {
        let docs = vec![vec![
            ("returns", 1.0),
            ("secret", 0.0),
            ("hidden", f64::NAN),
        ]];
        let index = Bm25Index::build_weighted(&docs);
        assert_eq!(index.idf("secret"), None);
        assert_eq!(index.idf("hidden"), None);
        assert!(index.search("secret hidden").is_empty());
    }

    #[test]
    fn coverage_ignores_unknown_terms_and_weights_by_idf() {
        let index = Bm25Index::build(&strings(&[
            "return policy",
            "shipping policy",
            "warranty policy",
        ]));
        // "shoe" is unknown, so "return" is the whole known query.
        assert!((index.coverage("return my shoes", 0) - 1.0).abs() < 1e-12);
        // "policy" is in every document, so it is worth less than "return".
        let partial = index.coverage("return policy", 1);
        assert!(partial > 0.0 && partial < 0.5, "{partial}");
        assert_eq!(index.coverage("xyzzy", 0), 0.0);
        assert_eq!(index.coverage("", 0), 0.0);
        assert_eq!(index.coverage("return", 99), 0.0);
    }

    #[test]
    fn known_share_counts_words_the_index_has_seen() {
        let index = Bm25Index::build_weighted(&[
            vec![("return policy", 1.0), ("within 30 days", 0.25)],
            vec![("shipping", 1.0)],
        ]);
        assert_eq!(index.known_share("return policy"), 1.0);
        // Words from any document and any field, even a light one, are known.
        assert_eq!(index.known_share("shipping days"), 1.0);
        assert_eq!(index.known_share("return my shoes"), 0.5);
        assert!((index.known_share("returned twice fraud") - 1.0 / 3.0).abs() < 1e-12);
        // Repeats count once; numbers do not count at all.
        assert_eq!(index.known_share("shoes shoes shoes return"), 0.5);
        assert_eq!(index.known_share("return 12345"), 1.0);
        assert_eq!(index.known_share("shoes 30"), 0.0);
        // Nothing but numbers, stopwords or nothing at all: no words to know.
        assert_eq!(index.known_share("12345"), 0.0);
        assert_eq!(index.known_share("what is it"), 0.0);
        assert_eq!(index.known_share(""), 0.0);
        assert_eq!(index.known_share("أين طلبي"), 0.0);
    }

    #[test]
    fn empty_index_is_harmless() {
        let index = Bm25Index::build(&[]);
        assert!(index.is_empty());
        assert!(index.search("anything").is_empty());
        assert_eq!(index.score("anything", 0), 0.0);
    }

    #[test]
    fn params_change_scores_but_not_ranking_of_single_term() {
        let docs = strings(&["refund refund", "refund"]);
        let default = Bm25Index::build(&docs);
        let no_length = Bm25Index::build(&docs).with_params(Bm25Params { k1: 1.2, b: 0.0 });
        assert_eq!(no_length.params().b, 0.0);
        // Without length normalisation, the higher term frequency wins.
        assert_eq!(no_length.search("refund")[0].0, 0);
        assert!(default.score("refund", 0) != no_length.score("refund", 0));
    }
}
