//! The contract's error codes (CONTRACT.md, `Error.code`): one enum, so the
//! HTTP and NATS edges map a variant, never compare strings.

use std::fmt;

/// A stable snake_case error word of the contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// A field or the request is malformed.
    InvalidArgument,
    /// The request or a field is larger than allowed.
    TooLarge,
    /// The body's content type is not JSON or protobuf.
    UnsupportedMediaType,
    /// Well formed, but the state or the rules do not allow it.
    Unprocessable,
    /// No such complaint, org or resource.
    NotFound,
    /// The acting org is not the complaint's owner.
    NotAssigned,
    /// Someone else changed it first.
    Conflict,
    /// No valid credentials.
    Unauthorized,
    /// Valid credentials without the right.
    Forbidden,
    /// A store or a dependency cannot take the request now; try again later.
    Unavailable,
    /// A fault of ours; the detail is logged, not sent.
    Internal,
}

impl ErrorCode {
    /// Every code, for tests and documentation.
    pub const ALL: [Self; 11] = [
        Self::InvalidArgument,
        Self::TooLarge,
        Self::UnsupportedMediaType,
        Self::Unprocessable,
        Self::NotFound,
        Self::NotAssigned,
        Self::Conflict,
        Self::Unauthorized,
        Self::Forbidden,
        Self::Unavailable,
        Self::Internal,
    ];

    /// The contract word.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidArgument => "invalid_argument",
            Self::TooLarge => "too_large",
            Self::UnsupportedMediaType => "unsupported_media_type",
            Self::Unprocessable => "unprocessable",
            Self::NotFound => "not_found",
            Self::NotAssigned => "not_assigned",
            Self::Conflict => "conflict",
            Self::Unauthorized => "unauthorized",
            Self::Forbidden => "forbidden",
            Self::Unavailable => "unavailable",
            Self::Internal => "internal",
        }
    }

    /// The code a contract word names (None: not a word of the contract).
    pub fn parse(word: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == word)
    }

    /// The contract's `Error` message with this code.
    pub fn error(self, message: impl Into<String>, field: impl Into<String>) -> crate::v1::Error {
        crate::v1::Error {
            code: self.as_str().to_owned(),
            message: message.into(),
            field: field.into(),
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::ErrorCode;

    #[test]
    fn every_code_reads_back_from_its_word() {
        for c in ErrorCode::ALL {
            assert_eq!(ErrorCode::parse(c.as_str()), Some(c));
        }
        assert_eq!(ErrorCode::parse("Conflict"), None);
    }
}
