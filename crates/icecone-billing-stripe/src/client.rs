//! The calls, and the mapping of Stripe's answers to typed results and [`StripeError`]s.

use std::time::Duration;

use reqwest::header::RETRY_AFTER;
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use secrecy::{ExposeSecret as _, SecretString};
use serde::de::DeserializeOwned;

use crate::{
    API_VERSION, BuildError, CheckoutRequest, CheckoutSession, Code, CustomerId, Deletion,
    StripeConfig, StripeError, Subscription, SubscriptionId, wire,
};

/// A client of Stripe's API, holding the secret key.
#[derive(Debug, Clone)]
pub struct StripeClient {
    http: reqwest::Client,
    base: String,
    key: SecretString,
}

impl StripeClient {
    /// A client for `config`: requests give up after its timeout and follow no redirect.
    pub fn new(config: StripeConfig) -> Result<Self, BuildError> {
        let base = config.base_url.trim().trim_end_matches('/');
        if !(base.starts_with("https://") || base.starts_with("http://")) {
            return Err(BuildError::BaseUrl);
        }
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.timeout.min(Duration::from_secs(10)))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(BuildError::Client)?;
        Ok(Self {
            http,
            base: base.to_owned(),
            key: config.secret_key,
        })
    }

    fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(self.key.expose_secret())
            .header("Stripe-Version", API_VERSION)
    }

    async fn post<T: DeserializeOwned>(
        &self,
        path: &str,
        form: &[(&str, &str)],
        idempotency_key: &str,
    ) -> Result<T, StripeError> {
        let request = self
            .request(Method::POST, path)
            .header("Idempotency-Key", idempotency_key)
            .form(form);
        read(request.send().await).await
    }

    /// Creates a customer carrying only `billing_ref` (`metadata[billing_ref]`): no e-mail,
    /// name, address or phone. `idempotency_key` makes a retry of the same creation answer
    /// the same customer.
    pub async fn create_customer(
        &self,
        billing_ref: &str,
        idempotency_key: &str,
    ) -> Result<CustomerId, StripeError> {
        let customer: wire::Customer = self
            .post(
                "/v1/customers",
                &[("metadata[billing_ref]", billing_ref)],
                idempotency_key,
            )
            .await?;
        CustomerId::parse(&customer.id).ok_or(StripeError::Malformed)
    }

    /// Creates a Checkout Session in `subscription` mode for one unit of the price.
    pub async fn create_checkout_session(
        &self,
        checkout: &CheckoutRequest<'_>,
        idempotency_key: &str,
    ) -> Result<CheckoutSession, StripeError> {
        let session: wire::CheckoutSession = self
            .post(
                "/v1/checkout/sessions",
                &[
                    ("mode", "subscription"),
                    ("customer", checkout.customer.as_str()),
                    ("client_reference_id", checkout.client_reference_id),
                    ("line_items[0][price]", checkout.price),
                    ("line_items[0][quantity]", "1"),
                    ("success_url", checkout.success_url),
                    ("cancel_url", checkout.cancel_url),
                ],
                idempotency_key,
            )
            .await?;
        let url = session.url.ok_or(StripeError::Malformed)?;
        Ok(CheckoutSession {
            id: session.id,
            url,
        })
    }

    /// Creates a Customer Portal session for `customer`, returning to `return_url`.
    pub async fn create_portal_session(
        &self,
        customer: &CustomerId,
        return_url: &str,
        idempotency_key: &str,
    ) -> Result<String, StripeError> {
        let session: wire::PortalSession = self
            .post(
                "/v1/billing_portal/sessions",
                &[("customer", customer.as_str()), ("return_url", return_url)],
                idempotency_key,
            )
            .await?;
        Ok(session.url)
    }

    /// Deletes `customer` (Stripe cancels its subscriptions at once); a customer Stripe
    /// does not have any more is [`Deletion::AlreadyGone`].
    pub async fn delete_customer(&self, customer: &CustomerId) -> Result<Deletion, StripeError> {
        let path = format!("/v1/customers/{}", customer.as_str());
        let answer: Result<wire::Customer, _> =
            read(self.request(Method::DELETE, &path).send().await).await;
        match answer {
            Ok(deleted) if deleted.deleted => Ok(Deletion::Deleted),
            Ok(_) => Err(StripeError::Malformed),
            Err(StripeError::NotFound) => Ok(Deletion::AlreadyGone),
            Err(error) => Err(error),
        }
    }

    /// Reads a subscription: its status and the end of its current period.
    pub async fn subscription(&self, id: &SubscriptionId) -> Result<Subscription, StripeError> {
        let path = format!("/v1/subscriptions/{}", id.as_str());
        let subscription: wire::Subscription =
            read(self.request(Method::GET, &path).send().await).await?;
        Ok(Subscription {
            id: SubscriptionId::parse(&subscription.id).ok_or(StripeError::Malformed)?,
            customer: CustomerId::parse(&subscription.customer).ok_or(StripeError::Malformed)?,
            status: subscription.status,
            current_period_end: subscription
                .items
                .data
                .iter()
                .filter_map(|item| item.current_period_end)
                .max(),
        })
    }
}

/// The seconds of a `Retry-After: <seconds>` header (Stripe sends no HTTP date).
fn retry_after(response: &Response) -> Option<Duration> {
    let value = response.headers().get(RETRY_AFTER)?.to_str().ok()?;
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

/// Maps a transport failure, a status and a body to the answer or a [`StripeError`].
async fn read<T: DeserializeOwned>(
    sent: Result<Response, reqwest::Error>,
) -> Result<T, StripeError> {
    let response = match sent {
        Ok(response) => response,
        Err(error) if error.is_timeout() => return Err(StripeError::Timeout),
        Err(_) => return Err(StripeError::Unavailable),
    };
    let status = response.status();
    if status.is_success() {
        let bytes = response.bytes().await.map_err(|error| {
            if error.is_timeout() {
                StripeError::Timeout
            } else {
                StripeError::Unavailable
            }
        })?;
        return serde_json::from_slice(&bytes).map_err(|_| StripeError::Malformed);
    }
    let wait = retry_after(&response);
    let body: Option<wire::ErrorBody> = match response.bytes().await {
        Ok(bytes) => serde_json::from_slice(&bytes).ok(),
        Err(error) if error.is_timeout() => return Err(StripeError::Timeout),
        Err(_) => None,
    };
    let error = body.map(|body| body.error);
    let code = error
        .as_ref()
        .and_then(|error| error.code.as_deref())
        .and_then(Code::parse);
    Err(match status {
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => StripeError::Authentication,
        StatusCode::PAYMENT_REQUIRED => StripeError::Card {
            code,
            decline_code: error
                .as_ref()
                .and_then(|error| error.decline_code.as_deref())
                .and_then(Code::parse),
        },
        StatusCode::TOO_MANY_REQUESTS => StripeError::RateLimited { retry_after: wait },
        StatusCode::NOT_FOUND => StripeError::NotFound,
        status if status.is_server_error() => StripeError::Unavailable,
        StatusCode::BAD_REQUEST | StatusCode::CONFLICT => {
            // `card_error` can also come with 400 on some endpoints.
            if error.as_ref().and_then(|error| error.kind.as_deref()) == Some("card_error") {
                StripeError::Card {
                    code,
                    decline_code: None,
                }
            } else {
                StripeError::InvalidRequest { code }
            }
        }
        _ => StripeError::Malformed,
    })
}
