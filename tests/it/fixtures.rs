//! Fixtures: the situations scenarios start from, named for what they set up, so that a test
//! reads as the behaviour it checks: given a WhatsApp conversation, when Meta rate-limits the
//! reply, then it goes out after the second Meta asked for.
//!
//! Each `given_…` starts the real server with the channel's inbox sending to a stand-in
//! provider, logs the admin in, and has a customer ask for a person: the conversation waits
//! for an agent, its window is open, and nothing has been sent to the customer (so a test
//! counts exactly the requests its own steps cause). The `_with` forms take the settings a
//! scenario needs on top.

use serde_json::{json, Value};
use switchboard::config::Settings;

use crate::{
    helpers::{Backend, FakeProvider, TestApp},
    meta, twilio, whatsapp,
};

/// A conversation an agent can answer, and what a test needs to drive it.
pub struct Conversation {
    pub app: TestApp,
    /// The admin's token.
    pub token: String,
    pub id: String,
    /// The stand-in for the provider the conversation's inbox sends to.
    pub provider: FakeProvider,
}

impl Conversation {
    /// The agent writes `text`: the API's status and answer.
    pub async fn reply(&self, text: &str) -> (u16, Value) {
        self.app
            .post(
                &self.token,
                &format!("/api/conversations/{}/messages", self.id),
                &json!({"text": text}),
            )
            .await
    }

    /// The agent writes `text`, and it is accepted: the new message.
    pub async fn replied(&self, text: &str) -> Value {
        let (status, message) = self.reply(text).await;
        assert_eq!(status, 201, "{message}");
        message
    }

    /// Waits until the message `mid` has this delivery status: the message then.
    pub async fn delivery(&self, mid: &Value, status: &str) -> Value {
        let mid = mid.as_str().expect("a message id").to_owned();
        self.app
            .message_where(
                &self.token,
                &self.id,
                &format!("message {mid} {status}"),
                |m| m["id"] == mid.as_str() && m["delivery_status"] == status,
            )
            .await
    }

    /// The conversation as the API shows it.
    pub async fn show(&self) -> Value {
        self.app.conversation(&self.token, &self.id).await
    }

    /// Its messages, oldest first.
    pub async fn messages(&self) -> Vec<Value> {
        self.app.messages(&self.token, &self.id).await
    }
}

/// A WhatsApp Cloud API customer (`whatsapp::CUSTOMER`, message `wamid.IN1`) asked for a
/// person on the `wa` inbox; the stand-in plays the Graph API.
pub async fn given_a_whatsapp_conversation(b: Backend) -> Conversation {
    given_a_whatsapp_conversation_with(b, |_| {}).await
}

pub async fn given_a_whatsapp_conversation_with(
    b: Backend,
    customize: impl FnOnce(&mut Settings),
) -> Conversation {
    let (app, provider) = whatsapp::start(b, customize).await;
    let token = app.login().await;
    whatsapp::notify(
        &app,
        &whatsapp::notification(
            vec![whatsapp::text("wamid.IN1", 5, whatsapp::HANDOFF)],
            vec![],
        ),
    )
    .await;
    let id = whatsapp::the_conversation(&app, &token).await;
    Conversation {
        app,
        token,
        id,
        provider,
    }
}

/// An SMS customer (`twilio::PHONE`, message `SM0001`) asked for a person on the Twilio `sms`
/// inbox; the stand-in plays Twilio's Messages API.
pub async fn given_a_twilio_conversation(b: Backend) -> Conversation {
    given_a_twilio_conversation_with(b, |_| {}).await
}

pub async fn given_a_twilio_conversation_with(
    b: Backend,
    customize: impl FnOnce(&mut Settings),
) -> Conversation {
    let (app, provider) = twilio::start(b, customize).await;
    let token = app.login().await;
    twilio::inbound(&app, &twilio::sms("SM0001", twilio::PHONE, twilio::HANDOFF)).await;
    let id = twilio::conversation_with(&app, &token, twilio::PHONE).await["id"]
        .as_str()
        .expect("id")
        .to_owned();
    Conversation {
        app,
        token,
        id,
        provider,
    }
}

/// A Messenger user (`meta::PSID`, message `m_1`) asked for a person on the `fb` inbox; the
/// stand-in plays the Graph API's Send API.
pub async fn given_a_messenger_conversation(b: Backend) -> Conversation {
    given_a_messenger_conversation_with(b, |_| {}).await
}

pub async fn given_a_messenger_conversation_with(
    b: Backend,
    customize: impl FnOnce(&mut Settings),
) -> Conversation {
    let (app, provider) = meta::start(b, customize).await;
    let token = app.login().await;
    meta::notify(
        &app,
        &meta::page(vec![meta::text("m_1", 1000, meta::HANDOFF)]),
    )
    .await;
    let id = meta::the_conversation(&app, &token, "fb").await;
    Conversation {
        app,
        token,
        id,
        provider,
    }
}

/// A customer of the API inbox `support` (contact `c1`, message `m1`) asked for a person; the
/// stand-in plays the system behind the inbox's callback URL.
pub async fn given_an_api_conversation(b: Backend) -> Conversation {
    given_an_api_conversation_with(b, |_| {}).await
}

pub async fn given_an_api_conversation_with(
    b: Backend,
    customize: impl FnOnce(&mut Settings),
) -> Conversation {
    let app = TestApp::spawn_with(b, customize).await;
    let token = app.login().await;
    let id = app.customer_writes("m1", "c1", "talk to a human").await;
    let provider = app.callbacks.clone();
    Conversation {
        app,
        token,
        id,
        provider,
    }
}
