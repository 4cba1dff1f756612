//! The identity platform's token endpoint for the client-credentials grant
//! (`POST /{tenant}/oauth2/v2.0/token`, secret in the form or HTTP Basic)
//! and the check of the bearer tokens it issued: signed by the sim, `tid`
//! of this tenant, `exp` measured on the simulated clock, the app's
//! consented permissions in `roles`.

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde_json::{json, Value};

use super::errors::{GraphError, StsError};
use super::EntraSim;

/// The resource a token is for.
pub const GRAPH_AUDIENCE: &str = "https://graph.microsoft.com";

/// The caller of a Graph request, once its token is accepted.
#[derive(Debug, Clone)]
pub struct Caller {
    /// Index of the app (0 = the configured app, then `extra_apps`).
    pub app: u32,
    pub client_id: String,
    pub roles: Vec<String>,
}

impl Caller {
    /// Passes when the token holds any of `perms`.
    pub fn require(&self, perms: &[&str]) -> Result<(), GraphError> {
        if perms.iter().any(|p| self.roles.iter().any(|r| r == p)) {
            Ok(())
        } else {
            Err(GraphError::denied())
        }
    }
}

struct App {
    index: u32,
    client_id: String,
    secret: String,
    name: String,
    roles: Vec<String>,
}

fn apps(sim: &EntraSim) -> Vec<App> {
    let c = sim.config();
    let mut out = vec![App {
        index: 0,
        client_id: c.client_id.clone(),
        secret: c.client_secret.clone(),
        name: c.app_display_name.clone(),
        roles: c.granted.iter().cloned().collect(),
    }];
    for (i, a) in c.extra_apps.iter().enumerate() {
        out.push(App {
            index: i as u32 + 1,
            client_id: a.client_id.clone(),
            secret: a.client_secret.clone(),
            name: a.display_name.clone(),
            roles: a.granted.iter().cloned().collect(),
        });
    }
    out
}

fn sts(sim: &EntraSim, err: StsError) -> Response {
    let mut rng = sim.store().rng.clone();
    let trace = rng.uuid();
    let corr = rng.uuid();
    sim.store().rng = rng;
    let body = err.body(sim.clock().now(), &trace, &corr);
    let mut resp = (err.status, axum::Json(body)).into_response();
    resp.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store, no-cache"),
    );
    resp
}

/// `POST /{tenant}/oauth2/v2.0/token`.
pub async fn issue(
    State(sim): State<EntraSim>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    body: String,
) -> Response {
    let cfg = sim.config();
    let form: Vec<(String, String)> = url::form_urlencoded::parse(body.as_bytes())
        .into_owned()
        .collect();
    let get = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let tenant_ok =
        tenant.eq_ignore_ascii_case(&cfg.directory_id) || tenant.eq_ignore_ascii_case(&cfg.domain);
    if !tenant_ok {
        return sts(
            &sim,
            StsError::new(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                90002,
                format!("Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant."),
            ),
        );
    }
    let grant = get("grant_type").unwrap_or_default();
    if grant.is_empty() {
        return sts(
            &sim,
            StsError::new(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                900144,
                "The request body must contain the following parameter: 'grant_type'.".into(),
            ),
        );
    }
    if grant != "client_credentials" {
        return sts(
            &sim,
            StsError::new(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                70003,
                format!("The app requested an unsupported grant type '{grant}'."),
            ),
        );
    }
    // Client authentication: the form, or HTTP Basic.
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Basic ")
                .or_else(|| v.strip_prefix("basic "))
        })
        .and_then(|b| {
            base64::engine::general_purpose::STANDARD
                .decode(b.trim())
                .ok()
        })
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|s| {
            s.split_once(':').map(|(u, p)| {
                let dec = |x: &str| {
                    url::form_urlencoded::parse(format!("x={x}").as_bytes())
                        .next()
                        .map(|(_, v)| v.into_owned())
                        .unwrap_or_default()
                };
                (dec(u), dec(p))
            })
        });
    let client_id = get("client_id").or_else(|| basic.as_ref().map(|b| b.0.clone()));
    let secret = get("client_secret").or_else(|| basic.as_ref().map(|b| b.1.clone()));
    let Some(client_id) = client_id.filter(|c| !c.is_empty()) else {
        return sts(
            &sim,
            StsError::new(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                900144,
                "The request body must contain the following parameter: 'client_id'.".into(),
            ),
        );
    };
    let all = apps(&sim);
    let Some(app) = all
        .iter()
        .find(|a| a.client_id.eq_ignore_ascii_case(&client_id))
    else {
        return sts(&sim, StsError::new(StatusCode::BAD_REQUEST, "unauthorized_client", 700016, format!("Application with identifier '{client_id}' was not found in the directory '{}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.", cfg.domain)));
    };
    let Some(secret) = secret.filter(|s| !s.is_empty()) else {
        return sts(&sim, StsError::new(StatusCode::UNAUTHORIZED, "invalid_client", 7000215, format!("Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '{}'.", app.client_id)));
    };
    if secret != app.secret {
        return sts(&sim, StsError::new(StatusCode::UNAUTHORIZED, "invalid_client", 7000215, format!("Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '{}'.", app.client_id)));
    }
    let scope = get("scope").unwrap_or_default();
    let scopes: Vec<&str> = scope.split_whitespace().collect();
    let scope_ok = !scopes.is_empty()
        && scopes.iter().all(|s| {
            s.eq_ignore_ascii_case("https://graph.microsoft.com/.default")
                || s.eq_ignore_ascii_case("00000003-0000-0000-c000-000000000000/.default")
        });
    if !scope_ok {
        return sts(&sim, StsError::new(StatusCode::BAD_REQUEST, "invalid_scope", 70011, format!("The provided request must include a 'scope' input parameter. The provided value for the input parameter 'scope' is not valid. The scope {scope} is not valid. The .default scope must be used for the client credentials flow.")));
    }
    let now = sim.clock().now();
    let lifetime = sim.config().token_lifetime.as_secs() as i64;
    let jti = sim.store().rng.base62(22);
    let claims = json!({
        "aud": GRAPH_AUDIENCE,
        "iss": format!("https://sts.windows.net/{}/", cfg.directory_id),
        "iat": now.timestamp(),
        "nbf": now.timestamp(),
        "exp": now.timestamp() + lifetime,
        "app_displayname": app.name,
        "appid": app.client_id,
        "appidacr": "1",
        "idp": format!("https://sts.windows.net/{}/", cfg.directory_id),
        "idtyp": "app",
        "roles": app.roles,
        "tid": cfg.directory_id,
        "uti": jti,
        "ver": "1.0",
        "sim_app": app.index,
    });
    let token = match jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(&sim.shared.token_key),
    ) {
        Ok(t) => t,
        Err(_) => {
            return sts(
                &sim,
                StsError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "server_error",
                    90033,
                    "A transient error has occurred. Please try again.".into(),
                ),
            )
        }
    };
    let mut resp = axum::Json(json!({
        "token_type": "Bearer",
        "expires_in": lifetime,
        "ext_expires_in": lifetime,
        "access_token": token,
    }))
    .into_response();
    resp.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store, no-cache"),
    );
    resp
}

/// Checks `Authorization: Bearer` against the tokens this sim signs.
pub fn check(sim: &EntraSim, headers: &HeaderMap) -> Result<Caller, GraphError> {
    let value = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .trim();
    let token = match value.split_once(' ') {
        Some((scheme, t)) if scheme.eq_ignore_ascii_case("bearer") => t.trim(),
        _ => "",
    };
    if token.is_empty() {
        return Err(GraphError::invalid_token("Access token is empty."));
    }
    if token.matches('.').count() != 2 {
        return Err(GraphError::invalid_token(
            "IDX14100: JWT is not well formed, there are no dots (.).\nThe token needs to be in JWS or JWE Compact Serialization Format. (JWS): 'EncodedHeader.EndcodedPayload.EncodedSignature'. (JWE): 'EncodedProtectedHeader.EncodedEncryptedKey.EncodedInitializationVector.EncodedCiphertext.EncodedAuthenticationTag'.",
        ));
    }
    let mut v = Validation::new(Algorithm::HS256);
    v.validate_exp = false;
    v.validate_aud = false;
    v.required_spec_claims.clear();
    let claims: Value =
        jsonwebtoken::decode::<Value>(token, &DecodingKey::from_secret(&sim.shared.token_key), &v)
            .map(|d| d.claims)
            .map_err(|_| GraphError::invalid_token("Invalid signature."))?;
    let now = sim.clock().now().timestamp();
    let exp = claims["exp"].as_i64().unwrap_or(0);
    let nbf = claims["nbf"].as_i64().unwrap_or(0);
    if now >= exp || now + 300 < nbf {
        return Err(GraphError::invalid_token(
            "Access token has expired or is not yet valid.",
        ));
    }
    if claims["tid"].as_str() != Some(sim.config().directory_id.as_str()) {
        return Err(GraphError::invalid_token("Invalid audience."));
    }
    Ok(Caller {
        app: claims["sim_app"].as_u64().unwrap_or(0) as u32,
        client_id: claims["appid"].as_str().unwrap_or_default().to_string(),
        roles: claims["roles"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|r| r.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default(),
    })
}
