//! The service account's default key pair: a throwaway 2048-bit RSA key made
//! with openssl for the simulator only (never used anywhere real). Generating
//! RSA keys at run time is slow, so the default service account carries this
//! one; a config may supply its own PEMs.

/// PKCS#8 PEM of the default service account's private key.
pub const DEFAULT_PRIVATE_KEY_PEM: &str = "\
-----BEGIN PRIVATE KEY-----\n\
MIIEvgIBADANBgkqhkiG9w0BAQEFAASCBKgwggSkAgEAAoIBAQDG+YfL6IqdT23N\n\
uEcW209A4enD3b/1QuZpw7Bovf7lbYultYy2CwDcY57lCjIVyob88o1K2x4rFU9y\n\
SD+xXA9QVCyBO77j+U2/xYVGsn5Ql+Hn0TvB4C4BtkVZVMy+Nqp+/Ri8ZHB4kx/u\n\
XErp9dfczPWQbapDJbdtxJDxT55sq1/Au/sAyv89LvEzSVa7ZATgpzxbO/at6kC9\n\
eyxz4xCRz2z7B1KTZnBu7f2PAoxmrQXDojYpgygZd8TomctyK7cx8KotQyu3HzBF\n\
qQY3XnmZGykhQvqPu20Nwx6w6ViEHsdzXIRUsDjSg5l55Mgf9GE9HyHILCLZKiRH\n\
0bQFYe+1AgMBAAECggEALKaS73J95qrMInnbtBifWplHtt00hjKO18Wi+QJH6M7S\n\
I2vQCYsDFLHjVpUY47R44dsBU37D8Jmd5DCr4F5fDmDxQsf4QJrxtFr8Gz8TYv0O\n\
ZBHbRdjLojU3r0H9FyNX09rymdY1Og2UAQ6jfgid+g3hfllpt5tHZCHT/97k15Ag\n\
4o6k7jT2LXBwT0Bl2HE6ZMpTJOpfyq1U/6WsfQ08oD4+SE4Ll3H24/2bir2CK8gX\n\
F6i4StoCXonoioNKU37rrrLbNE5EWY13VpNxiVUA5fTqVa5Bxuryg/60As5yWhpJ\n\
qdfdsVIDTo0z5qMAxTpYYmn5lHNl1AWzHAYbUjDf2QKBgQD2g16IAVmvQ0uV1rmP\n\
jbaQV/SUqX8LXPYIPX8RfSw1aqaAJUh8QMmi313LRYbJtfSjix5ZblVC3wnJo8yK\n\
fvrhKWkBvTrLVgZiOxpJU5MJuh3VtiwHVDu2DIFTHAATiDcHMt6t/4KBYYkQSeBh\n\
IS3BeyDIi1y6niZ4ZT1cTVJP3QKBgQDOodDZVOdvDJ7O6PwDTg2hr/W4jZiu1/BF\n\
RurZKnGiV2AGxlxWWMhFYwcOFmkWtowKppCzYk6cwgDbFsfaBZt+g2nsl4DnbPwV\n\
0pApy82FlkH8p+vLbIoEP9Xrdl8U2lVgHqAyrqNdHYv/golgNPLe4TGStB9QOBA5\n\
UlC+0LgNuQKBgGvvMznLlZAmn/a4cMEJJJFo4X8iA61fA56yBmwK6Ytt6f8b0/QL\n\
jf3RXUj+ZTj2gWoGJMC1jYFdFPUD0jAlzwU9U2vehdq4DM1/4U+P10agBiYnwHlp\n\
CUf5i7pu/R2QO7/cJyH6SRMLOK84GZWNqHIZzk3grzZKvr9iXI6IkGzFAoGBAKI4\n\
YZkt0d/Z3Zd9S9RgY81LMjLoXzTs7IHG0jsZ2kpkJExNUFKtstTekLxblbcyKzF1\n\
YOajyCnDGR7nfJDKlC+3heIrcxS8+A891tYpXTmCJF3xiumSVaxOXWhU7wKVAi/K\n\
+2OuvSwuNSmsVqOEDiQyUVPmOyskSIBoAmI7xDNpAoGBAO0djsfeg9pjpIMpPxvV\n\
TuZCqPV1BNZJRRvHJ3Y8sXAJvEHzip6rRA5puwW3kPwsraZY2ZecWVIaiuOcQR4z\n\
Jz6aioYVPCq+AtGknP9v66WmNvPuEwT7OrK0fECY/g1DfnufXnACz3U7maC/dSX3\n\
rm5Nuvc084+xEVNK8u4wGk0E\n\
-----END PRIVATE KEY-----\n\
";

/// SPKI PEM of the matching public key.
pub const DEFAULT_PUBLIC_KEY_PEM: &str = "\
-----BEGIN PUBLIC KEY-----\n\
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAxvmHy+iKnU9tzbhHFttP\n\
QOHpw92/9ULmacOwaL3+5W2LpbWMtgsA3GOe5QoyFcqG/PKNStseKxVPckg/sVwP\n\
UFQsgTu+4/lNv8WFRrJ+UJfh59E7weAuAbZFWVTMvjaqfv0YvGRweJMf7lxK6fXX\n\
3Mz1kG2qQyW3bcSQ8U+ebKtfwLv7AMr/PS7xM0lWu2QE4Kc8Wzv2repAvXssc+MQ\n\
kc9s+wdSk2Zwbu39jwKMZq0Fw6I2KYMoGXfE6JnLciu3MfCqLUMrtx8wRakGN155\n\
mRspIUL6j7ttDcMesOlYhB7Hc1yEVLA40oOZeeTIH/RhPR8hyCwi2SokR9G0BWHv\n\
tQIDAQAB\n\
-----END PUBLIC KEY-----\n\
";
