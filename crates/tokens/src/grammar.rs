//! Token grammars: which token type may follow which.
//!
//! A grammar is data, so the same table both scores a generated sequence
//! (how many tokens break it) and masks the logits while sampling (which ids
//! may come next).

use crate::token::{Token, TokenType};
use crate::vocab::Vocab;
use std::collections::HashMap;

/// Allowed successions of token types.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Grammar {
    /// Types that may open a sequence.
    pub first: Vec<TokenType>,
    /// For each type, the types that may follow it.
    pub next: HashMap<TokenType, Vec<TokenType>>,
}

impl Grammar {
    /// Build from (type, followers) pairs.
    pub fn new(first: &[TokenType], rules: &[(TokenType, &[TokenType])]) -> Self {
        Grammar {
            first: first.to_vec(),
            next: rules.iter().map(|(t, f)| (*t, f.to_vec())).collect(),
        }
    }

    fn allows(&self, prev: Option<TokenType>, t: TokenType) -> bool {
        if t == TokenType::Special {
            return true;
        }
        match prev {
            None | Some(TokenType::Special) => self.first.contains(&t) || self.next.values().any(|v| v.contains(&t)),
            Some(p) => self.next.get(&p).is_some_and(|v| v.contains(&t)),
        }
    }

    /// Positions of the tokens that break the grammar.
    pub fn violations(&self, seq: &[Token]) -> Vec<usize> {
        let mut prev = None;
        let mut out = Vec::new();
        for (i, t) in seq.iter().enumerate() {
            if !self.allows(prev, t.kind()) {
                out.push(i);
            }
            prev = Some(t.kind());
        }
        out
    }

    /// Which ids of `vocab` may follow `prev` (`None` at the start).
    pub fn mask(&self, vocab: &Vocab, prev: Option<&Token>) -> Vec<bool> {
        let p = prev.map(|t| t.kind());
        vocab.tokens().iter().map(|t| self.allows(p, t.kind())).collect()
    }
}
